// Rule-based sentence categories (see sentence_labeller.h): named cue features, their fitted
// per-category weights, Viterbi decoding over category transitions, the fit itself and the
// model's JSON form. The cue groups name what the Thought Anchors definitions describe.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/sentence_labeller.h"

#include "analysis/sentence_labeller_model.h"
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/thought_anchors.h"
#include "sparsetrace/core/utf8.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <span>

namespace sparsetrace::core {

namespace {

enum class CueMode { Start, Anywhere, End };

struct CueGroup {
    const char* name;
    CueMode mode;
    std::span<const std::string_view> cues;
};

// Cue phrases, matched on the lower-cased, stripped sentence. Each group is one feature: the
// weights say how much it speaks for each category, so overlapping groups are fine.
constexpr std::string_view kWait[] = {"wait", "but wait", "hold on", "but hold on", "hmm", "hmm,"};
constexpr std::string_view kOkaySo[] = {"okay, so", "okay so", "alright, so", "alright so"};
constexpr std::string_view kSo[] = {"so,", "so "};
constexpr std::string_view kTherefore[] = {"therefore", "thus", "hence", "that means", "which means", "this means", "that gives",
                                           "which gives", "this gives"};
constexpr std::string_view kLetMe[] = {"let me", "let's", "let us"};
constexpr std::string_view kLetMeCompute[] = {"let me compute", "let me calculate", "let me do",   "let's compute",
                                              "let's calculate", "let me write",    "let me plug", "let me add",
                                              "let me multiply", "let me subtract", "let me divide", "let me simplify",
                                              "let me expand",   "let me solve"};
constexpr std::string_view kLetMeCheck[] = {"let me check",   "let me verify",  "let me double",      "let me confirm",
                                            "let me recheck", "let me recount", "let me recalculate", "let me re-",
                                            "let me make sure", "let me see if", "let me test"};
constexpr std::string_view kCheck[] = {"check", "verify", "double-check", "make sure", "confirm", "to be thorough", "to be safe", "sanity"};
constexpr std::string_view kCorrect[] = {"that's correct", "that's right", "is correct", "seems correct", "seems right",
                                         "checks out",     "that matches", "matches",    "consistent",    "makes sense",
                                         "that works",     "yes",          "yep",        "correct."};
constexpr std::string_view kDoubt[] = {"mistake", "conflict", "discrepan", "inconsisten", "not sure", "confus", "wrong",
                                       "doesn't make sense", "unclear", "ambiguous", "misread", "misunderst", "contradict",
                                       "error", "hmm", "wait", "that can't", "can't be", "doesn't seem", "not possible",
                                       "impossible"};
constexpr std::string_view kHedge[] = {"maybe", "perhaps", "might", "possibly", "i wonder", "i think", "not sure", "i guess", "probably"};
constexpr std::string_view kQuestion[] = {"?"};
constexpr std::string_view kAlternative[] = {"alternatively", "another way", "another approach", "instead", "different approach",
                                             "other way", "reconsider", "re-examine", "go back", "let me think again", "rethink"};
constexpr std::string_view kPlan[] = {"i need to", "need to find", "i should", "i'll", "i will", "we need", "we can", "i can",
                                      "approach", "strategy", "plan", "step by step", "first,", "next,", "then,", "now,",
                                      "let me think", "let's think", "figure out", "to find", "to solve", "to determine",
                                      "the goal", "method", "try"};
constexpr std::string_view kPlanStart[] = {"first", "next", "now", "then", "to find", "to solve", "to compute", "to calculate",
                                           "to determine", "alternatively", "another", "i need", "i should", "i'll", "i will",
                                           "i can", "we need", "we can"};
constexpr std::string_view kFact[] = {"formula", "theorem", "recall", "remember", "i know", "know that", "is defined",
                                      "definition", "by definition", "property", "identity", "rule", "is given by", "equals the",
                                      "is equal to", "in general", "always", "means that", "there are", "there is", "each"};
constexpr std::string_view kProblem[] = {"the problem", "the question", "problem says", "problem states", "we are asked",
                                         "we're asked", "asked to", "given that", "we are given", "we're given", "given"};
constexpr std::string_view kSetupStart[] = {"okay, so i", "so i have", "i have this", "i've got", "alright, so i", "the problem",
                                            "the question", "we are given", "we're given", "given"};
constexpr std::string_view kFinal[] = {"final answer", "\\boxed", "the answer is", "answer should be", "answer is"};
constexpr std::string_view kResult[] = {"in total", "overall", "total", "altogether", "in summary", "to summarize", "so far",
                                        "putting it all together", "combining", "therefore", "thus", "so the", "which is",
                                        "the result"};
constexpr std::string_view kComputeVerb[] = {"compute", "calculat", "multiply", "multiplied", "divide", "divided", "add ",
                                             "adding", "subtract", "simplif", "plug", "substitut", "expand", "solving",
                                             "solve for", "times", "plus", "minus", "squared", "sum of", "product"};
constexpr std::string_view kIThink[] = {"i think", "i believe", "i guess"};
constexpr std::string_view kBut[] = {"but", "however", "although", "though"};
constexpr std::string_view kBecause[] = {"because", "since", "as "};
constexpr std::string_view kActually[] = {"actually", "no,", "oh", "oops", "wait, no", "no wait"};
constexpr std::string_view kAgain[] = {"again", "re-", "once more", "recap", "going back"};

const CueGroup kGroups[] = {
    {"wait", CueMode::Start, kWait},
    {"okay_so", CueMode::Start, kOkaySo},
    {"so", CueMode::Start, kSo},
    {"therefore", CueMode::Start, kTherefore},
    {"letme", CueMode::Start, kLetMe},
    {"letme_compute", CueMode::Anywhere, kLetMeCompute},
    {"letme_check", CueMode::Anywhere, kLetMeCheck},
    {"check", CueMode::Anywhere, kCheck},
    {"correct", CueMode::Anywhere, kCorrect},
    {"doubt", CueMode::Anywhere, kDoubt},
    {"hedge", CueMode::Anywhere, kHedge},
    {"question", CueMode::End, kQuestion},
    {"alternative", CueMode::Anywhere, kAlternative},
    {"plan", CueMode::Anywhere, kPlan},
    {"plan_start", CueMode::Start, kPlanStart},
    {"fact", CueMode::Anywhere, kFact},
    {"problem", CueMode::Anywhere, kProblem},
    {"setup_start", CueMode::Start, kSetupStart},
    {"final", CueMode::Anywhere, kFinal},
    {"result", CueMode::Anywhere, kResult},
    {"compute_verb", CueMode::Anywhere, kComputeVerb},
    {"i_think", CueMode::Start, kIThink},
    {"but", CueMode::Start, kBut},
    {"because", CueMode::Start, kBecause},
    {"actually", CueMode::Anywhere, kActually},
    {"again", CueMode::Anywhere, kAgain},
};

// Discourse markers: the cues of what follows them are features of their own ("r:" prefix),
// so "Wait, let me check" and "Wait, that is wrong" can differ.
constexpr std::string_view kMarkers[] = {"but wait,", "wait, wait,", "wait a minute,", "wait a second,", "but hold on,", "hold on,",
                                         "wait,", "hmm,", "hmm.", "okay,", "alright,", "so,", "but "};

// Bins of the math share and of the length in code points: prose, mixed, formulas.
constexpr double kMathBins[] = {0.05, 0.15, 0.30, 0.50};
constexpr std::size_t kLengthBins[] = {30, 80, 160};
constexpr std::size_t kOpeningSentences = 2; // "pos:first2": where the problem is restated
constexpr std::size_t kEarlySentences = 5;   // "pos:first5"
constexpr std::size_t kClosingSentences = 3; // "pos:last3": where the answer is emitted
constexpr int kRelativeBins = 5;             // "rel0".."rel4": fifths of the chain
constexpr std::size_t kCheckWindow = 3;      // "ctx:check3": a check cue in one of the 3 sentences before

bool matches(std::string_view s, CueMode mode, std::span<const std::string_view> cues)
{
    for (auto c : cues) {
        if (mode == CueMode::Start && s.substr(0, c.size()) == c) return true;
        if (mode == CueMode::End && s.size() >= c.size() && s.substr(s.size() - c.size()) == c) return true;
        if (mode == CueMode::Anywhere && s.find(c) != std::string_view::npos) return true;
    }
    return false;
}

bool isPythonSpace(char32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Lower-cased, whitespace-stripped copy (Unicode simple lower case) and its length in code points.
std::string normalise(std::string_view s, std::size_t* codePoints = nullptr)
{
    std::u32string cps;
    for (std::size_t i = 0; i < s.size();) cps.push_back(decodeUtf8(s, i));
    std::size_t a = 0, b = cps.size();
    while (a < b && isPythonSpace(cps[a])) ++a;
    while (b > a && isPythonSpace(cps[b - 1])) --b;
    std::string out;
    for (std::size_t k = a; k < b; ++k)
        appendUtf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cps[k]))));
    if (codePoints) *codePoints = b - a;
    return out;
}

// "<digit> <op> <digit> ... = <digit>": an arithmetic step written out.
class ArithmeticPattern {
public:
    ArithmeticPattern()
    {
        int err = 0;
        PCRE2_SIZE offset = 0;
        const char* pattern = "\\d\\s*[-+*/\xC3\x97\xC3\xB7]\\s*\\d[^=]*=\\s*-?\\d"; // ops: - + * / × ÷
        m_code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err,
                               &offset, nullptr);
        if (!m_code) throw ArgumentError("rule-based labeller: internal pattern failed to compile");
    }
    ~ArithmeticPattern() { pcre2_code_free(m_code); }
    ArithmeticPattern(const ArithmeticPattern&) = delete;
    ArithmeticPattern& operator=(const ArithmeticPattern&) = delete;
    // Match data per call: the compiled pattern is shared by threads, match data is not.
    bool search(std::string_view s) const
    {
        std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
            pcre2_match_data_create_from_pattern(m_code, nullptr), &pcre2_match_data_free);
        if (!match) throw ArgumentError("rule-based labeller: out of memory");
        return pcre2_match(m_code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, match.get(), nullptr) >= 0;
    }

private:
    pcre2_code* m_code = nullptr;
};

void addGroups(std::vector<std::string>& out, std::string_view s, const char* prefix, bool withQuestion)
{
    for (const auto& g : kGroups)
        if ((withQuestion || std::string_view(g.name) != "question") && matches(s, g.mode, g.cues))
            out.push_back(std::string(prefix) + g.name);
}

template <typename T, std::size_t N>
int binOf(T value, const T (&edges)[N])
{
    int b = 0;
    while (b < static_cast<int>(N) && value >= edges[b]) ++b;
    return b;
}

// Features of a sentence on its own: cue groups ("g:"), cue groups after a leading discourse
// marker ("r:"), math-share bin ("m0".."m4"), equation, arithmetic, LaTeX, length bin.
std::vector<std::string> sentenceFeatures(const std::string& raw, const ArithmeticPattern& arithmetic)
{
    std::size_t length = 0;
    const std::string l = normalise(raw, &length);
    const std::string_view s = l;
    std::vector<std::string> f;
    addGroups(f, s, "g:", true);
    for (auto marker : kMarkers) {
        if (s.substr(0, marker.size()) == marker && s.size() > marker.size() + 1) {
            addGroups(f, normalise(s.substr(marker.size())), "r:", false);
            break;
        }
    }
    f.push_back("m" + std::to_string(binOf(mathCharacterShare(raw), kMathBins)));
    if (s.find('=') != std::string_view::npos || s.find("\xE2\x89\x88") != std::string_view::npos) f.push_back("eq"); // ≈
    if (arithmetic.search(s)) f.push_back("arith");
    if (s.find("\\(") != std::string_view::npos || s.find('$') != std::string_view::npos) f.push_back("latex");
    f.push_back("len" + std::to_string(binOf(length, kLengthBins)));
    return f;
}

// Cue groups and the math bin are what a neighbour contributes ("p:" before, "n:" after).
bool isContextFeature(const std::string& f) { return f.starts_with("g:") || f.starts_with("m"); }

std::vector<double> logSoftmax(std::vector<double> s)
{
    const double mx = *std::max_element(s.begin(), s.end());
    double z = 0.0;
    for (double v : s) z += std::exp(v - mx);
    const double lz = mx + std::log(z);
    for (double& v : s) v -= lz;
    return s;
}

std::vector<double> scoresOf(const SentenceLabellerModel& model, const std::vector<std::string>& features)
{
    std::vector<double> s(model.categories.size(), 0.0);
    for (const auto& f : features) {
        const auto it = model.weights.find(f);
        if (it == model.weights.end()) continue; // a feature the fit never saw often enough
        for (std::size_t c = 0; c < s.size(); ++c) s[c] += it->second[c];
    }
    return s;
}

std::vector<std::string> modelCategories()
{
    std::vector<std::string> c = sentenceCategories();
    c.erase(std::remove(c.begin(), c.end(), std::string("unknown")), c.end());
    return c;
}

int categoryIndex(const std::vector<std::string>& categories, const std::string& tag)
{
    const auto it = std::find(categories.begin(), categories.end(), tag);
    return it == categories.end() ? -1 : static_cast<int>(it - categories.begin());
}

std::vector<double> numbersOf(const nlohmann::json& j, std::size_t n, const std::string& what)
{
    if (!j.is_array() || j.size() != n) throw FormatError(what + ": expected an array of " + std::to_string(n) + " numbers");
    std::vector<double> out;
    for (const auto& v : j) {
        if (!v.is_number()) throw FormatError(what + ": expected numbers");
        out.push_back(v.get<double>());
    }
    return out;
}

} // namespace

double mathCharacterShare(std::string_view sentence)
{
    static constexpr std::u32string_view kMath = U"0123456789=+-*/^()[]{}\\\u2248\u00D7\u00F7\u00B2\u00B3\u221A\u03C0<>_|!";
    std::size_t total = 0, math = 0;
    for (std::size_t i = 0; i < sentence.size();) {
        const char32_t c = decodeUtf8(sentence, i);
        ++total;
        if (kMath.find(c) != std::u32string_view::npos) ++math;
    }
    return total == 0 ? 0.0 : static_cast<double>(math) / static_cast<double>(total);
}

std::vector<std::vector<std::string>> labellerFeatures(const std::vector<std::string>& sentences)
{
    static const ArithmeticPattern arithmetic;
    const std::size_t n = sentences.size();
    std::vector<std::vector<std::string>> own;
    own.reserve(n);
    for (const auto& s : sentences) own.push_back(sentenceFeatures(s, arithmetic));
    auto hasCheckCue = [](const std::vector<std::string>& f) {
        return std::find_if(f.begin(), f.end(), [](const std::string& x) { return x == "g:letme_check" || x == "g:check"; }) !=
               f.end();
    };
    std::vector<std::vector<std::string>> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto& f = out[i];
        f.push_back("bias");
        f.insert(f.end(), own[i].begin(), own[i].end());
        if (i < kOpeningSentences) f.push_back("pos:first2");
        else if (i < kEarlySentences) f.push_back("pos:first5");
        if (i + 1 == n) f.push_back("pos:last");
        else if (i + kClosingSentences >= n) f.push_back("pos:last3");
        const double relative = static_cast<double>(i) / static_cast<double>(std::max<std::size_t>(1, n - 1));
        f.push_back("rel" + std::to_string(std::min(kRelativeBins - 1, static_cast<int>(relative * kRelativeBins))));
        if (i > 0)
            for (const auto& x : own[i - 1])
                if (isContextFeature(x)) f.push_back("p:" + x);
        if (i + 1 < n)
            for (const auto& x : own[i + 1])
                if (isContextFeature(x)) f.push_back("n:" + x);
        for (std::size_t j = i >= kCheckWindow ? i - kCheckWindow : 0; j < i; ++j) {
            if (hasCheckCue(own[j])) {
                f.push_back("ctx:check3");
                break;
            }
        }
    }
    return out;
}

std::vector<std::string> labelSentences(const SentenceLabellerModel& model, const std::vector<std::string>& sentences)
{
    const std::size_t nc = model.categories.size();
    if (nc == 0 || model.transition.size() != nc * nc)
        throw ArgumentError("rule-based labeller: the model has " + std::to_string(nc) + " categories and " +
                            std::to_string(model.transition.size()) + " transition scores");
    if (sentences.empty()) return {};
    const auto features = labellerFeatures(sentences);
    // Viterbi: best[c] = best score of a labelling of sentences 0..i that ends in c.
    std::vector<double> best = logSoftmax(scoresOf(model, features[0])); // [C] float64
    std::vector<std::vector<int>> back;                                   // [n-1, C] int
    for (std::size_t i = 1; i < sentences.size(); ++i) {
        const auto emission = logSoftmax(scoresOf(model, features[i]));
        std::vector<double> next(nc);
        std::vector<int> from(nc);
        for (std::size_t c = 0; c < nc; ++c) {
            std::size_t arg = 0;
            for (std::size_t a = 1; a < nc; ++a)
                if (best[a] + model.transition[a * nc + c] > best[arg] + model.transition[arg * nc + c]) arg = a;
            next[c] = best[arg] + model.transition[arg * nc + c] + emission[c];
            from[c] = static_cast<int>(arg);
        }
        best = std::move(next);
        back.push_back(std::move(from));
    }
    int c = static_cast<int>(std::max_element(best.begin(), best.end()) - best.begin());
    std::vector<std::string> out(sentences.size());
    out.back() = model.categories[c];
    for (std::size_t i = back.size(); i-- > 0;) {
        c = back[i][c];
        out[i] = model.categories[c];
    }
    return out;
}

std::vector<std::string> labelSentencesRuleBased(const std::vector<std::string>& sentences)
{
    return labelSentences(builtInSentenceLabeller(), sentences);
}

const SentenceLabellerModel& builtInSentenceLabeller()
{
    static const SentenceLabellerModel model = makeBuiltInSentenceLabeller();
    return model;
}

SentenceLabellerModel fitSentenceLabeller(const std::vector<LabelledSentences>& chains, const LabellerFitOptions& options)
{
    SentenceLabellerModel model;
    model.categories = modelCategories();
    const std::size_t nc = model.categories.size();
    if (options.iterations < 0 || options.l2 < 0 || options.learningRate <= 0 || options.transitionSmoothing <= 0)
        throw ArgumentError("rule-based labeller fit: iterations, l2 must be >= 0 and the learning rate and smoothing > 0");

    // Rows: the features and category of every sentence with a known tag.
    std::vector<std::vector<std::string>> rowFeatures;
    std::vector<int> rowCategory;
    std::vector<double> transitionCounts(nc * nc, options.transitionSmoothing); // [C, C] float64
    std::vector<double> priorCounts(nc, options.transitionSmoothing);           // [C] float64
    for (const auto& chain : chains) {
        if (chain.sentences.size() != chain.tags.size())
            throw ArgumentError("rule-based labeller fit: " + std::to_string(chain.sentences.size()) + " sentences and " +
                                std::to_string(chain.tags.size()) + " tags in one chain");
        const auto features = labellerFeatures(chain.sentences);
        int previous = -1;
        for (std::size_t i = 0; i < features.size(); ++i) {
            const int c = categoryIndex(model.categories, chain.tags[i]);
            if (c >= 0) {
                rowFeatures.push_back(features[i]);
                rowCategory.push_back(c);
                priorCounts[c] += 1;
                if (previous >= 0) transitionCounts[previous * nc + c] += 1;
            }
            previous = c;
        }
    }
    if (rowFeatures.empty()) throw ArgumentError("rule-based labeller fit: no sentence with a known category");

    // Features seen in at least minCount sentences, in name order.
    std::map<std::string, int> counts;
    for (const auto& f : rowFeatures)
        for (const auto& name : std::set<std::string>(f.begin(), f.end())) ++counts[name];
    std::map<std::string, int> index;
    std::vector<std::string> names;
    for (const auto& [name, n] : counts)
        if (n >= options.minCount) {
            index[name] = static_cast<int>(names.size());
            names.push_back(name);
        }
    std::vector<std::vector<int>> rows; // [N, active] feature indices
    for (const auto& f : rowFeatures) {
        std::vector<int> r;
        for (const auto& name : f)
            if (auto it = index.find(name); it != index.end()) r.push_back(it->second);
        rows.push_back(std::move(r));
    }

    // Multinomial logistic regression, full-batch AdaGrad on the mean log loss + l2/2N |W|^2.
    const std::size_t nf = names.size();
    const double n = static_cast<double>(rows.size());
    std::vector<double> w(nf * nc, 0.0);       // [F, C] float64
    std::vector<double> squared(nf * nc, 1e-8); // [F, C] float64, AdaGrad's sum of squared gradients
    std::vector<double> grad(nf * nc);          // [F, C] float64
    std::vector<double> s(nc);                  // [C] float64
    for (int it = 0; it < options.iterations; ++it) {
        std::fill(grad.begin(), grad.end(), 0.0);
        for (std::size_t r = 0; r < rows.size(); ++r) {
            std::fill(s.begin(), s.end(), 0.0);
            for (int j : rows[r])
                for (std::size_t c = 0; c < nc; ++c) s[c] += w[j * nc + c];
            const auto lp = logSoftmax(s);
            for (std::size_t c = 0; c < nc; ++c) {
                const double g = std::exp(lp[c]) - (static_cast<int>(c) == rowCategory[r] ? 1.0 : 0.0);
                for (int j : rows[r]) grad[j * nc + c] += g;
            }
        }
        for (std::size_t k = 0; k < w.size(); ++k) {
            const double g = grad[k] / n + options.l2 * w[k] / n;
            squared[k] += g * g;
            w[k] -= options.learningRate * g / std::sqrt(squared[k]);
        }
    }
    for (std::size_t j = 0; j < nf; ++j) model.weights[names[j]] = std::vector<double>(w.begin() + j * nc, w.begin() + (j + 1) * nc);

    // Transitions: scale * log(P(c | previous) / P(c)), so a chain without context cues keeps its
    // per-sentence labels and runs of one category (a check re-doing the work) stay together.
    double priorTotal = 0.0;
    for (double v : priorCounts) priorTotal += v;
    model.transition.assign(nc * nc, 0.0);
    for (std::size_t a = 0; a < nc; ++a) {
        double rowTotal = 0.0;
        for (std::size_t c = 0; c < nc; ++c) rowTotal += transitionCounts[a * nc + c];
        for (std::size_t c = 0; c < nc; ++c)
            model.transition[a * nc + c] = options.transitionScale * (std::log(transitionCounts[a * nc + c] / rowTotal) -
                                                                      std::log(priorCounts[c] / priorTotal));
    }
    return model;
}

std::vector<std::vector<std::string>> leaveOneChainOutLabels(const std::vector<LabelledSentences>& chains,
                                                             const LabellerFitOptions& options)
{
    if (chains.size() < 2) throw ArgumentError("leave-one-out needs at least two labelled chains, got " + std::to_string(chains.size()));
    std::vector<std::vector<std::string>> out;
    for (std::size_t k = 0; k < chains.size(); ++k) {
        std::vector<LabelledSentences> others;
        for (std::size_t i = 0; i < chains.size(); ++i)
            if (i != k) others.push_back(chains[i]);
        out.push_back(labelSentences(fitSentenceLabeller(others, options), chains[k].sentences));
    }
    return out;
}

nlohmann::json sentenceLabellerToJson(const SentenceLabellerModel& model)
{
    nlohmann::json weights = nlohmann::json::object();
    for (const auto& [name, w] : model.weights) weights[name] = w;
    return {{"format", "sparsetrace-sentence-labeller"}, {"version", 1}, {"labeller", kRuleBasedLabellerName},
            {"categories", model.categories}, {"transition", model.transition}, {"weights", weights}};
}

SentenceLabellerModel sentenceLabellerFromJson(const nlohmann::json& j, const std::string& what)
{
    if (!j.is_object() || j.value("format", std::string()) != "sparsetrace-sentence-labeller")
        throw FormatError(what + ": not a sentence labeller model (\"format\": \"sparsetrace-sentence-labeller\" expected)");
    if (!j.contains("version") || j["version"] != 1) throw FormatError(what + ": unsupported labeller model version");
    SentenceLabellerModel m;
    if (!j.contains("categories") || !j["categories"].is_array() || j["categories"].empty())
        throw FormatError(what + ": \"categories\" must be a non-empty array of names");
    for (const auto& c : j["categories"]) {
        if (!c.is_string()) throw FormatError(what + ": \"categories\" must hold strings");
        m.categories.push_back(c.get<std::string>());
    }
    const std::size_t nc = m.categories.size();
    m.transition = numbersOf(j.value("transition", nlohmann::json()), nc * nc, what + " \"transition\"");
    if (!j.contains("weights") || !j["weights"].is_object()) throw FormatError(what + ": \"weights\" must be an object");
    for (const auto& [name, w] : j["weights"].items()) m.weights[name] = numbersOf(w, nc, what + " weights of \"" + name + "\"");
    return m;
}

double firstTagAgreement(const std::vector<std::string>& predicted, const std::vector<std::string>& reference)
{
    if (predicted.size() != reference.size())
        throw ArgumentError("agreement: " + std::to_string(predicted.size()) + " predicted labels for " +
                            std::to_string(reference.size()) + " reference labels");
    if (predicted.empty()) return 0.0;
    std::size_t same = 0;
    for (std::size_t i = 0; i < predicted.size(); ++i) same += predicted[i] == reference[i] ? 1 : 0;
    return static_cast<double>(same) / static_cast<double>(predicted.size());
}

} // namespace sparsetrace::core
