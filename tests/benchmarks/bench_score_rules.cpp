// Benchmark of the mask search's score rules (issue 18, part B): does the sparse run keep the
// needle, how much true attention does it keep, and what does the search cost. Prints tables;
// it is not a test. Everything runs on the CPU, sharded over worker threads (one engine each).
//   (a) NIAH sweeps with the demo retriever, per rule x length x K: retrieved by the sparse run,
//       retrieved densely, mean sparsity, and for the needle-reading heads at the answer row
//       (dense mass on the needle's key blocks >= 0.3, read off an all-dense trace of the same
//       prompt) whether the sparse mask kept every needle block;
//   (b) captured mass and oracle recall from the fidelity pass on passages without a needle, per
//       rule, for the demo retriever and (optionally) stories260K;
//   (c) mask-estimation time per rule on random q and k of the model's shape.
// Sweeps go to OUT/<rule> (resumable: a rerun skips finished cells).
//   bench_score_rules --model DIR --haystack BOOK.txt --out OUT [--lengths 1k,2k,4k]
//       [--depths 0:95:5] [--ks 4,8,16] [--rules centre,bound] [--threads 2] [--geometry 16]
//       [--passages 3] [--passage-tokens 4000] [--stories DIR] [--seed 7001]
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/model_config.h"
#include "sparsetrace/core/niah.h"
#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/core/stream_attn.h"
#include "sparsetrace/core/tokenizer.h"
#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/gpu/trace_engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace sparsetrace;
namespace fs = std::filesystem;

namespace {

struct Options {
    std::string model, haystack, out, stories;
    std::string lengths = "1k,2k,4k", depths = "0:95:5", ks = "4,8,16", rules = "centre,bound";
    int threads = 2;
    int geometry = 16; // bq = bk = sinks = window
    int passages = 3;
    int passageTokens = 4000;
    std::uint64_t seed = 7001;
    int tokensToGenerate = 10;
};

std::vector<std::string> splitList(const std::string& s)
{
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) out.push_back(item);
    return out;
}

core::StreamParams geometry(const Options& o, core::ScoreRule rule, int k)
{
    core::StreamParams p;
    p.bq = p.bk = p.sinks = p.window = o.geometry;
    p.k = k;
    p.queryStride = 1;
    p.score = rule;
    return p;
}

// One sweep (all lengths, depths and the given K values) sharded over `threads` workers, each
// with its own engine; the shard tables merged. Resumable: finished cells are skipped.
core::NiahTable runSweep(const Options& o, const std::string& name, const core::TraceRequest& base,
                         const std::vector<int>& ks)
{
    std::vector<core::NiahTable> tables(static_cast<std::size_t>(o.threads));
    std::vector<std::string> errors(static_cast<std::size_t>(o.threads));
    std::mutex printing;
    std::vector<std::thread> workers;
    for (int i = 0; i < o.threads; ++i) {
        workers.emplace_back([&, i] {
            try {
                core::NiahTracedSweep sweep;
                sweep.spec.lengths = core::parseNiahLengths(o.lengths);
                sweep.spec.depths = core::parseNiahDepths(o.depths);
                sweep.spec.ks = ks;
                sweep.spec.seed = o.seed;
                sweep.spec.tokensToGenerate = o.tokensToGenerate;
                sweep.base = base;
                sweep.haystack = o.haystack;
                sweep.shard = {i, o.threads};
                sweep.outDir = fs::path(o.out) / name / ("shard-" + std::to_string(i));
                sweep.keepTraces = true;
                gpu::TraceEngine engine;
                const core::NiahTraceFn trace = [&](const core::TraceRequest& r, std::stop_token stop) {
                    return engine.trace(r, {}, stop);
                };
                tables[static_cast<std::size_t>(i)] = core::runTracedNiahSweep(
                    sweep, trace, [&](const core::NiahSweepProgress& p) {
                        const std::lock_guard lock(printing);
                        std::fprintf(stderr, "\r%-14s shard %d: %zu/%zu cells   ", name.c_str(), i, p.done, p.total);
                    });
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(i)] = e.what();
            }
        });
    }
    for (auto& w : workers) w.join();
    std::fprintf(stderr, "\n");
    for (const auto& e : errors)
        if (!e.empty()) throw BackendError("sweep " + name + ": " + e);
    return core::mergeNiahTables(tables);
}

fs::path shardDirOf(const Options& o, const std::string& name, std::size_t cellIndex)
{
    return fs::path(o.out) / name / ("shard-" + std::to_string(cellIndex % static_cast<std::size_t>(o.threads)));
}

struct PromptKey {
    std::int64_t length = 0;
    double depth = 0;
    auto operator<=>(const PromptKey&) const = default;
};

// The needle's key blocks and the answer row (the last prompt query block, the routes'
// default target row) of a NIAH trace.
struct NeedleGeometry {
    int firstBlock = 0, lastBlock = 0;
    std::int64_t answerRow = 0;
};

NeedleGeometry needleGeometry(const core::Trace& t)
{
    const auto& info = t.info();
    const auto& needle = info.annotations.at("needle");
    NeedleGeometry g;
    const std::int64_t start = needle.at("token_start").get<std::int64_t>();
    const std::int64_t end = needle.at("token_end").get<std::int64_t>();
    g.firstBlock = static_cast<int>(start / info.params.bk);
    g.lastBlock = static_cast<int>((end - 1) / info.params.bk);
    g.answerRow = (info.promptTokens - 1) / info.params.bq;
    return g;
}

// Dense mass of each (layer, head) on the needle's blocks at the answer row, from an all-dense
// trace (each row records its K' blocks of highest dense mass: blocks outside hold less than
// any recorded one). [L * H] float64.
std::vector<double> needleMass(const core::Trace& dense)
{
    const NeedleGeometry g = needleGeometry(dense);
    std::vector<double> out;
    for (int l = 0; l < dense.layers(); ++l) {
        const core::LayerView v = dense.layer(l);
        for (int h = 0; h < dense.heads(); ++h) {
            double m = 0;
            const auto idx = v.indexRow(h, g.answerRow);
            const auto mass = v.massRow(h, g.answerRow);
            for (std::size_t s = 0; s < idx.size(); ++s)
                if (idx[s] >= g.firstBlock && idx[s] <= g.lastBlock) m += mass[s];
            out.push_back(m);
        }
    }
    return out;
}

bool keepsEveryNeedleBlock(const core::Trace& sparse, int layer, int head)
{
    const NeedleGeometry g = needleGeometry(sparse);
    const auto idx = sparse.layer(layer).indexRow(head, g.answerRow);
    for (int b = g.firstBlock; b <= g.lastBlock; ++b)
        if (std::find(idx.begin(), idx.end(), b) == idx.end()) return false;
    return true;
}

void partA(const Options& o, const std::vector<core::ScoreRule>& rules, const std::vector<int>& ks)
{
    const int layers = core::ModelConfig::load(o.model).layers;
    // The all-dense sweep: dense retrieval and the needle-reading heads of each prompt.
    core::TraceRequest denseBase;
    denseBase.modelDir = o.model;
    denseBase.params = geometry(o, core::ScoreRule::Centre, 16);
    for (int l = 0; l < layers; ++l) denseBase.params.denseLayers.push_back(l);
    const auto t0 = std::chrono::steady_clock::now();
    const core::NiahTable dense = runSweep(o, "dense", denseBase, {16});
    std::map<PromptKey, std::vector<double>> readers; // per prompt: [L * H] needle mass
    for (const auto& c : dense.cells()) {
        const auto t = core::TraceFile::open((shardDirOf(o, "dense", c.cell.index) / c.tracePath).string());
        readers[{c.cell.length, c.cell.depth}] = needleMass(*t);
    }
    const double denseSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::printf("\n## (a) Needle retrieval, demo retriever, bq = bk = %d, sinks %d, window %d, sq = 1\n\n", o.geometry,
                o.geometry, o.geometry);
    std::printf("Needle-reading head: dense mass >= 0.3 on the needle's key blocks at the answer row (the last\n"
                "prompt query block); \"kept\": the sparse mask at that row holds every needle block.\n\n");
    std::printf("| rule | length | K | prompts | sparse retrieved | dense retrieved | mean sparsity | needle heads kept |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (core::ScoreRule rule : rules) {
        const std::string name(core::scoreRuleName(rule));
        core::TraceRequest base;
        base.modelDir = o.model;
        base.params = geometry(o, rule, 16);
        const core::NiahTable table = runSweep(o, name, base, ks);
        for (std::int64_t length : core::parseNiahLengths(o.lengths)) {
            for (int k : ks) {
                int prompts = 0, sparseOk = 0, denseOk = 0, heads = 0, kept = 0;
                double sparsity = 0;
                for (const auto& c : table.cells()) {
                    if (c.cell.length != length || c.cell.k != k) continue;
                    ++prompts;
                    sparseOk += c.retrieved ? 1 : 0;
                    denseOk += c.denseRetrieved.value_or(false) ? 1 : 0;
                    sparsity += c.sparsity;
                    const auto t = core::TraceFile::open((shardDirOf(o, name, c.cell.index) / c.tracePath).string());
                    const std::vector<double>& mass = readers.at({c.cell.length, c.cell.depth});
                    for (int l = 0; l < t->layers(); ++l)
                        for (int h = 0; h < t->heads(); ++h) {
                            if (mass[static_cast<std::size_t>(l * t->heads() + h)] < 0.3) continue;
                            ++heads;
                            kept += keepsEveryNeedleBlock(*t, l, h) ? 1 : 0;
                        }
                }
                if (prompts == 0) continue;
                std::printf("| %s | %lld | %d | %d | %d (%.0f%%) | %d (%.0f%%) | %.3f | %d of %d |\n", name.c_str(),
                            static_cast<long long>(length), k, prompts, sparseOk, 100.0 * sparseOk / prompts, denseOk,
                            100.0 * denseOk / prompts, sparsity / prompts, kept, heads);
            }
        }
    }
    std::printf("\n(dense sweep with the needle-reading heads: %.0f s on %d threads)\n", denseSeconds, o.threads);
}

// Passages of the book without a needle: `count` slices spread over the text, each cut to
// `tokens` tokens of the model's tokenizer.
std::vector<std::vector<std::int32_t>> passages(const std::string& book, const core::Tokenizer& tok, int count, int tokens)
{
    std::ifstream in(book, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), {}};
    if (text.size() < 100000) throw ArgumentError(book + ": too short for passages");
    std::vector<std::vector<std::int32_t>> out;
    for (int i = 0; i < count; ++i) {
        std::size_t at = text.size() * static_cast<std::size_t>(i + 1) / static_cast<std::size_t>(count + 1);
        while (at < text.size() && text[at] != '\n') ++at; // start at a line
        const std::string slice = text.substr(at + 1, static_cast<std::size_t>(tokens) * 8);
        std::vector<std::int32_t> ids = tok.encode(slice).ids;
        if (static_cast<int>(ids.size()) < tokens) throw ArgumentError(book + ": a passage is short of tokens");
        ids.resize(static_cast<std::size_t>(tokens));
        out.push_back(std::move(ids));
    }
    return out;
}

struct FidelitySummary {
    double captured = 0, recall = 0;
    double sparsity = 0;
    std::int64_t rows = 0;
};

// Mean captured mass and oracle recall over every sparse layer, head and prompt row.
void addFidelity(const core::Trace& t, FidelitySummary& s)
{
    const std::int64_t promptRows = t.info().queryBlocks();
    for (int l = 0; l < t.layers(); ++l) {
        const core::LayerView v = t.layer(l);
        if (v.dense) continue;
        for (int h = 0; h < t.heads(); ++h)
            for (std::int64_t r = 0; r < promptRows; ++r) {
                const auto idx = v.indexRow(h, r);
                const auto oracle = v.oracleIndex.subspan(static_cast<std::size_t>((h * v.rows + r) * v.kPrime),
                                                          static_cast<std::size_t>(v.kPrime));
                int n = 0, hit = 0;
                for (std::int32_t b : oracle) {
                    if (b < 0) continue;
                    ++n;
                    hit += std::find(idx.begin(), idx.end(), b) != idx.end() ? 1 : 0;
                }
                s.captured += v.captured[static_cast<std::size_t>(h * v.rows + r)];
                s.recall += n > 0 ? double(hit) / n : 1.0;
                ++s.rows;
            }
    }
    s.sparsity += core::traceSparsity(t).sparsity();
}

void partB(const Options& o, const std::string& model, const std::string& label, const std::vector<core::ScoreRule>& rules,
           const std::vector<int>& ks, int tokens)
{
    const core::Tokenizer tok = core::Tokenizer::fromModelDir(model);
    const auto texts = passages(o.haystack, tok, o.passages, tokens);
    for (core::ScoreRule rule : rules)
        for (int k : ks) {
            // One engine per worker thread, passages split between them.
            std::vector<FidelitySummary> parts(static_cast<std::size_t>(o.threads));
            std::vector<std::string> errors(static_cast<std::size_t>(o.threads));
            std::vector<std::thread> workers;
            const auto t0 = std::chrono::steady_clock::now();
            for (int w = 0; w < o.threads; ++w)
                workers.emplace_back([&, w] {
                    try {
                        gpu::TraceEngine engine;
                        for (std::size_t i = static_cast<std::size_t>(w); i < texts.size(); i += static_cast<std::size_t>(o.threads)) {
                            core::TraceRequest r;
                            r.modelDir = model;
                            r.tokenIds = texts[i];
                            r.params = geometry(o, rule, k);
                            r.checkTokens = 0;
                            r.fidelity = true;
                            addFidelity(*engine.trace(r, {}, {}), parts[static_cast<std::size_t>(w)]);
                        }
                    } catch (const std::exception& e) {
                        errors[static_cast<std::size_t>(w)] = e.what();
                    }
                });
            for (auto& w : workers) w.join();
            for (const auto& e : errors)
                if (!e.empty()) throw BackendError(label + ": " + e);
            FidelitySummary s;
            for (const auto& p : parts) {
                s.captured += p.captured;
                s.recall += p.recall;
                s.rows += p.rows;
                s.sparsity += p.sparsity;
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            std::printf("| %s | %s | %d | %zu x %d | %.4f | %.4f | %.3f | %.0f s |\n", label.c_str(),
                        std::string(core::scoreRuleName(rule)).c_str(), k, texts.size(), tokens, s.captured / s.rows,
                        s.recall / s.rows, s.sparsity / texts.size(), seconds);
            std::fflush(stdout);
        }
}

// (c) Mask estimation alone on random q, k of the model's attention shape, per rule.
void partC(const Options& o, const std::vector<core::ScoreRule>& rules)
{
    const core::ModelConfig cfg = core::ModelConfig::load(o.model);
    std::printf("\n## (c) Mask estimation time, one layer, random q and k of the model's shape (H = %d, Hkv = %d, D = %d), K = 16, "
                "one thread\n\n",
                cfg.heads, cfg.kvHeads, cfg.headDim);
    std::printf("| T | rule | time (median of 3) | children scored | vs centre |\n|---|---|---|---|---|\n");
    for (std::int64_t T : core::parseNiahLengths(o.lengths)) {
        std::mt19937 rng(static_cast<unsigned>(T));
        std::normal_distribution<float> normal;
        std::vector<float> q(static_cast<std::size_t>(cfg.heads * T * cfg.headDim)); // [H, T, D] float32
        std::vector<float> k(static_cast<std::size_t>(cfg.kvHeads * T * cfg.headDim)); // [Hkv, T, D] float32
        for (float& x : q) x = normal(rng);
        for (float& x : k) x = normal(rng);
        core::AttentionInputs in;
        in.heads = cfg.heads;
        in.kvHeads = cfg.kvHeads;
        in.queries = in.keys = T;
        in.headDim = cfg.headDim;
        in.q = q;
        in.k = k;
        in.v = k;
        in.scale = 1.0 / std::sqrt(double(cfg.headDim));
        double centre = 0;
        for (core::ScoreRule rule : {core::ScoreRule::Centre, core::ScoreRule::First, core::ScoreRule::Bound}) {
            if (std::find(rules.begin(), rules.end(), rule) == rules.end() && rule != core::ScoreRule::Centre) continue;
            std::vector<double> times;
            core::SearchStats stats;
            for (int rep = 0; rep < 3; ++rep) {
                stats = {};
                const auto t0 = std::chrono::steady_clock::now();
                core::estimateMask(in, geometry(o, rule, 16), &stats);
                times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            std::sort(times.begin(), times.end());
            if (rule == core::ScoreRule::Centre) centre = times[1];
            std::printf("| %lld | %s | %.3f s | %lld | %.2fx |\n", static_cast<long long>(T),
                        std::string(core::scoreRuleName(rule)).c_str(), times[1], static_cast<long long>(stats.childScores),
                        times[1] / centre);
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--model") o.model = v;
        else if (a == "--haystack") o.haystack = v;
        else if (a == "--out") o.out = v;
        else if (a == "--stories") o.stories = v;
        else if (a == "--lengths") o.lengths = v;
        else if (a == "--depths") o.depths = v;
        else if (a == "--ks") o.ks = v;
        else if (a == "--rules") o.rules = v;
        else if (a == "--threads") o.threads = std::stoi(v);
        else if (a == "--geometry") o.geometry = std::stoi(v);
        else if (a == "--passages") o.passages = std::stoi(v);
        else if (a == "--passage-tokens") o.passageTokens = std::stoi(v);
        else if (a == "--seed") o.seed = std::stoull(v);
        else {
            std::fprintf(stderr, "bench_score_rules: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (o.model.empty() || o.haystack.empty() || o.out.empty() || o.threads < 1) {
        std::fprintf(stderr, "usage: bench_score_rules --model DIR --haystack BOOK.txt --out OUT [--lengths 1k,2k,4k] "
                             "[--depths 0:95:5] [--ks 4,8,16] [--rules centre,bound] [--threads 2] [--geometry 16] "
                             "[--passages 3] [--passage-tokens 4000] [--stories DIR] [--seed 7001]\n");
        return 2;
    }
    try {
        std::vector<core::ScoreRule> rules;
        for (const auto& r : splitList(o.rules)) rules.push_back(core::scoreRuleFromName(r));
        std::vector<int> ks;
        for (const auto& k : core::parseNiahLengths(o.ks)) ks.push_back(static_cast<int>(k));
        std::printf("# bench_score_rules: %s, haystack %s, %d threads\n", o.model.c_str(), o.haystack.c_str(), o.threads);
        partC(o, rules);
        std::printf("\n## (b) Captured mass and oracle recall, passages without a needle (all sparse layers, heads and prompt "
                    "rows)\n\n");
        std::printf("| model | rule | K | passages | captured mass | oracle recall | mean sparsity | time |\n");
        std::printf("|---|---|---|---|---|---|---|---|\n");
        partB(o, o.model, fs::path(o.model).filename().string(), rules, {16}, o.passageTokens);
        if (!o.stories.empty()) partB(o, o.stories, fs::path(o.stories).filename().string(), rules, {4, 16}, 480);
        partA(o, rules, ks);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_score_rules: %s\n", e.what());
        return 1;
    }
    return 0;
}
