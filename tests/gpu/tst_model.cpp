// The model runtime against Hugging Face transformers: config parsing, fixture models of each
// architecture (fp32 CPU logits to 1e-4 and identical greedy tokens; CUDA bf16 error at most 2x
// transformers' own bf16 error), stories260K's float64 golden, the streamed attention against a
// naive softmax, KV-cache and chunking invariance, and one-line errors for broken model folders.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "harness_shared.h"

#include "model/attention_backend.h"
#include "model/model_access.h"
#include "model/transformer.h"
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/model_config.h"
#include "sparsetrace/core/safetensors.h"
#include "sparsetrace/gpu/model_runner.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

using namespace sparsetrace;
using namespace sparsetrace::gpu;
namespace fs = std::filesystem;

namespace {

const char* kFixtures[] = {"tiny-llama", "tiny-qwen2", "tiny-gemma3"};

fs::path fixture(const std::string& name) { return sparsetrace::test::fixturesDir() / "models" / name; }

struct Reference {
    std::vector<std::int64_t> ids;
    std::vector<float> logits;      // [T, V]
    std::vector<std::int64_t> greedy;
    std::vector<float> logitsBf16;  // [T, V] transformers bf16 on CUDA
};

Reference readReference(const fs::path& dir)
{
    auto f = core::SafetensorsFile::open((dir / "reference.safetensors").string());
    Reference r;
    r.ids = f.copy<std::int64_t>("input_ids");
    r.logits = f.copy<float>("logits");
    r.greedy = f.copy<std::int64_t>("greedy_ids");
    if (f.find("logits_bf16_hf")) r.logitsBf16 = f.copy<float>("logits_bf16_hf");
    return r;
}

double maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b)
{
    if (a.size() != b.size()) return INFINITY;
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
    return m;
}

std::vector<float> toVector(const torch::Tensor& t)
{
    torch::Tensor c = t.to(torch::kCPU, torch::kFloat32).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

nlohmann::json readJson(const fs::path& p)
{
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

void writeJson(const fs::path& p, const nlohmann::json& j)
{
    std::ofstream out(p);
    out << j.dump(2);
}

} // namespace

// ---- config.json ----------------------------------------------------------------------------

ST_TEST(configOfFixtures)
{
    auto llama = core::ModelConfig::load(fixture("tiny-llama").string());
    ST_CHECK(llama.architecture == core::ModelArchitecture::Llama);
    ST_CHECK_EQ(llama.heads, 8);
    ST_CHECK_EQ(llama.kvHeads, 2);
    ST_CHECK_EQ(llama.headDim, 8);
    ST_CHECK(llama.ropeGlobal.scaling == core::RopeScalingKind::Llama3);
    ST_CHECK_NEAR(llama.ropeGlobal.theta, 50000.0, 0);
    ST_CHECK_NEAR(llama.ropeGlobal.originalMaxPositions, 32.0, 0);
    ST_CHECK(!llama.tieWordEmbeddings);
    ST_CHECK(!llama.hasSlidingLayers());

    auto qwen = core::ModelConfig::load(fixture("tiny-qwen2").string());
    ST_CHECK(qwen.architecture == core::ModelArchitecture::Qwen2);
    ST_CHECK(qwen.attentionBias);
    ST_CHECK_EQ(qwen.headDim, 16);
    ST_CHECK(qwen.tieWordEmbeddings);

    auto gemma = core::ModelConfig::load(fixture("tiny-gemma3").string());
    ST_CHECK(gemma.gemma());
    ST_CHECK_EQ(gemma.slidingWindow, 16);
    ST_CHECK((gemma.layerIsSliding == std::vector<bool>{true, true, false, true}));
    ST_CHECK_NEAR(gemma.ropeGlobal.theta, 1e6, 0);
    ST_CHECK_NEAR(gemma.ropeLocal.theta, 1e4, 0);
    ST_CHECK_NEAR(gemma.attentionScale(), 1.0 / std::sqrt(24.0), 1e-15);
    ST_CHECK(gemma.activation == core::Activation::GeluTanh);
}

ST_TEST(configOfSharedModels)
{
    const fs::path shared = sparsetrace::test::requireShared();
    auto ds = core::ModelConfig::load((shared / "assets/models/deepseek-r1-distill-qwen-1.5b").string());
    ST_CHECK(ds.architecture == core::ModelArchitecture::Qwen2);
    ST_CHECK_EQ(ds.layers, 28);
    ST_CHECK_EQ(ds.heads, 12);
    ST_CHECK_EQ(ds.kvHeads, 2);
    ST_CHECK_EQ(ds.headDim, 128);
    ST_CHECK(!ds.hasSlidingLayers()); // use_sliding_window false
    ST_CHECK_EQ(ds.vocab, 151936);
    ST_CHECK(ds.eosIds == std::vector<std::int64_t>{151643});

    auto g = core::ModelConfig::load((shared / "assets/models/gemma-3-1b-it").string());
    ST_CHECK(g.gemma());
    ST_CHECK_EQ(g.layers, 26);
    ST_CHECK_EQ(g.slidingWindow, 512);
    // sliding_window_pattern 6: every 6th layer (5, 11, ...) is global.
    for (int l = 0; l < g.layers; ++l) ST_CHECK_EQ(g.layerIsSliding[static_cast<std::size_t>(l)], (l + 1) % 6 != 0);
    ST_CHECK_NEAR(g.ropeLocal.theta, 10000.0, 0);
    ST_CHECK_NEAR(g.ropeGlobal.theta, 1e6, 0);
    ST_CHECK((g.eosIds == std::vector<std::int64_t>{1, 106}));
}

ST_TEST(configErrorsNameTheKey)
{
    const nlohmann::json base = readJson(fixture("tiny-llama") / "config.json");
    auto bad = [&](auto edit) {
        nlohmann::json j = base;
        edit(j);
        return j.dump();
    };
    ST_CHECK_THROWS(core::ModelConfig::fromJson(bad([](auto& j) { j["architectures"] = {"MistralForCausalLM"}; }), "x/config.json"),
                    ModelError, "x/config.json: key \"architectures\" names MistralForCausalLM");
    ST_CHECK_THROWS(core::ModelConfig::fromJson(bad([](auto& j) { j.erase("hidden_size"); }), "x/config.json"), ModelError,
                    "key \"hidden_size\" is missing");
    ST_CHECK_THROWS(core::ModelConfig::fromJson(bad([](auto& j) { j["num_attention_heads"] = "8"; }), "c"), ModelError,
                    "\"num_attention_heads\" must be an integer");
    ST_CHECK_THROWS(core::ModelConfig::fromJson(bad([](auto& j) { j["rope_parameters"]["rope_type"] = "yarn"; }), "c"),
                    ModelError, "\"yarn\"");
    ST_CHECK_THROWS(core::ModelConfig::fromJson(bad([](auto& j) { j["num_key_value_heads"] = 3; }), "c"), ModelError,
                    "num_key_value_heads");
    nlohmann::json gemma = readJson(fixture("tiny-gemma3") / "config.json");
    gemma["attn_logit_softcapping"] = 50.0;
    ST_CHECK_THROWS(core::ModelConfig::fromJson(gemma.dump(), "g"), ModelError, "attn_logit_softcapping");
    gemma = readJson(fixture("tiny-gemma3") / "config.json");
    gemma.erase("sliding_window");
    ST_CHECK_THROWS(core::ModelConfig::fromJson(gemma.dump(), "g"), ModelError, "\"sliding_window\" is missing");
    ST_CHECK_THROWS(core::ModelConfig::fromJson("{\"architectures\": [", "broken/config.json"), ModelError,
                    "broken/config.json: not valid JSON");
}

// ---- attention --------------------------------------------------------------------------------

namespace {
// softmax(q k^T * scale) v with an explicit [Tq, Tk] mask, in float64: the definition.
torch::Tensor naiveAttention(const AttentionCall& call, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v)
{
    const std::int64_t h = q.size(0), hkv = k.size(0), tq = q.size(1), tk = k.size(1);
    torch::Tensor kr = k.to(torch::kFloat64).repeat_interleave(h / hkv, 0);
    torch::Tensor vr = v.to(torch::kFloat64).repeat_interleave(h / hkv, 0);
    torch::Tensor s = torch::matmul(q.to(torch::kFloat64), kr.transpose(1, 2)) * call.scale; // [H, Tq, Tk]
    torch::Tensor qpos = torch::arange(call.queryOffset, call.queryOffset + tq).unsqueeze(1);
    torch::Tensor kpos = torch::arange(0, tk).unsqueeze(0);
    torch::Tensor allowed = kpos.le(qpos);
    if (call.slidingWindow > 0) allowed = allowed.logical_and(kpos.gt(qpos - call.slidingWindow));
    s = s.masked_fill(allowed.logical_not(), -INFINITY);
    return torch::matmul(torch::softmax(s, -1), vr);
}
} // namespace

ST_TEST(streamedAttentionMatchesNaiveSoftmax)
{
    torch::manual_seed(7);
    struct Case {
        std::int64_t tq, offset;
        int window;
        std::int64_t qChunk, kChunk;
    };
    for (const Case& cs : {Case{37, 0, 0, 8, 5}, Case{37, 0, 6, 8, 5}, Case{5, 50, 0, 3, 7}, Case{5, 50, 9, 2, 4},
                           Case{1, 70, 0, 512, 1024}, Case{1, 70, 16, 512, 1024}, Case{64, 0, 200, 16, 16}}) {
        const std::int64_t tk = cs.offset + cs.tq;
        torch::Tensor q = torch::randn({6, cs.tq, 16}) * 2, k = torch::randn({2, tk, 16}) * 2, v = torch::randn({2, tk, 16});
        AttentionCall call{0, cs.offset, cs.window, 0.25};
        torch::Tensor ref = naiveAttention(call, q, k, v);
        torch::Tensor got = streamedAttention(call, q, k, v, cs.qChunk, cs.kChunk);
        ST_CHECK_MSG(torch::allclose(got.to(torch::kFloat64), ref, 1e-5, 1e-5),
                     "tq " << cs.tq << " offset " << cs.offset << " window " << cs.window << " max diff "
                           << (got.to(torch::kFloat64) - ref).abs().max().item<double>());
        DenseAttention dense;
        ST_CHECK(torch::allclose(dense.attend(call, q, k, v).to(torch::kFloat64), ref, 1e-5, 1e-5));
    }
    AttentionCall wrong{0, 3, 0, 1.0};
    ST_CHECK_THROWS(streamedAttention(wrong, torch::zeros({2, 4, 8}), torch::zeros({1, 4, 8}), torch::zeros({1, 4, 8})),
                    ArgumentError, "keys must cover");
}

// ---- fixture models against transformers (fp32, CPU) -------------------------------------

ST_TEST(fixtureLogitsMatchTransformersFp32Cpu)
{
    for (const char* name : kFixtures) {
        const Reference ref = readReference(fixture(name));
        ModelRunner runner = ModelRunner::load(fixture(name).string(), {"cpu", "f32", {}});
        const std::vector<float> logits = runner.promptLogits(ref.ids);
        // transformers' own fp32 run differs from a float64 run by up to 4e-5 on these models
        // (recorded in reference.safetensors); 1e-4 leaves room for a second fp32 evaluation order.
        const double err = maxAbsDiff(logits, ref.logits);
        std::cout << "  " << name << ": max |logit diff| fp32 CPU = " << err << "\n";
        ST_CHECK_MSG(err <= 1e-4, name << ": max |logit diff| " << err);
    }
}

ST_TEST(fixtureGreedyMatchesTransformers)
{
    for (const char* name : kFixtures) {
        const Reference ref = readReference(fixture(name));
        ModelRunner runner = ModelRunner::load(fixture(name).string(), {"cpu", "f32", {}});
        const auto got = runner.generate(ref.ids, static_cast<int>(ref.greedy.size()), /*stopAtEos=*/false);
        ST_CHECK_MSG(got == ref.greedy, name << ": greedy tokens differ");
    }
}

ST_TEST(chunkingAndCacheDoNotChangeLogits)
{
    // Row chunks of 7, and a prefill split in two calls through the KV cache (queries at an
    // offset, sliding-window layers crossing the split), give the same logits as one pass.
    for (const char* name : kFixtures) {
        const Reference ref = readReference(fixture(name));
        ModelRunner runner = ModelRunner::load(fixture(name).string(), {"cpu", "f32", {}});
        Transformer& model = transformerOf(runner);
        DenseAttention dense;
        const auto t = static_cast<std::int64_t>(ref.ids.size());
        torch::Tensor ids = torch::tensor(ref.ids, torch::kInt64);
        std::vector<std::int64_t> all(static_cast<std::size_t>(t));
        for (std::int64_t i = 0; i < t; ++i) all[static_cast<std::size_t>(i)] = i;
        model.rowChunk = 7;
        const double errChunked = maxAbsDiff(toVector(model.forward(ids, all, dense)), ref.logits);
        model.rowChunk = 8192;
        // The cache reserves every position at the first call: the second call writes into the
        // same buffers (no growth, no copy).
        KvCache cache;
        cache.reserve = t;
        const std::int64_t split = 41;
        std::vector<std::int64_t> first(all.begin(), all.begin() + split), second(static_cast<std::size_t>(t - split));
        for (std::int64_t i = 0; i < t - split; ++i) second[static_cast<std::size_t>(i)] = i;
        std::vector<float> a = toVector(model.forward(ids.narrow(0, 0, split), first, dense, &cache));
        ST_CHECK_EQ(cache.k.front().size(1), t);
        const void* reserved = cache.k.front().data_ptr();
        std::vector<float> b = toVector(model.forward(ids.narrow(0, split, t - split), second, dense, &cache));
        ST_CHECK_EQ(cache.length, t);
        ST_CHECK(cache.k.front().data_ptr() == reserved);
        a.insert(a.end(), b.begin(), b.end());
        const double errCached = maxAbsDiff(a, ref.logits);
        ST_CHECK_MSG(errChunked <= 1e-4 && errCached <= 1e-4, name << ": chunked " << errChunked << " cached " << errCached);
        // Only the asked rows come back, in the order asked.
        std::vector<float> two = toVector(model.forward(ids, {t - 1, 3}, dense));
        const auto v = static_cast<std::size_t>(runner.vocabSize());
        std::vector<float> expect(ref.logits.end() - static_cast<std::ptrdiff_t>(v), ref.logits.end());
        expect.insert(expect.end(), ref.logits.begin() + 3 * static_cast<std::ptrdiff_t>(v),
                      ref.logits.begin() + 4 * static_cast<std::ptrdiff_t>(v));
        ST_CHECK(maxAbsDiff(two, expect) <= 1e-4);
    }
}

// ---- stories260K (a real trained Llama) --------------------------------------------------------

ST_TEST(stories260KMatchesGolden)
{
    const fs::path dir = sparsetrace::test::requireShared() / "assets/models/stories260K";
    auto golden = core::SafetensorsFile::open((dir / "golden_greedy32.safetensors").string());
    const auto ids = golden.copy<std::int64_t>("input_ids");
    const auto logits = golden.copy<float>("logits");
    ModelRunner runner = ModelRunner::load(dir.string(), {"cpu", "f32", {}});
    const double err = maxAbsDiff(runner.promptLogits(ids), logits);
    std::cout << "  stories260K: max |logit diff| vs float64 golden = " << err << "\n";
    ST_CHECK_MSG(err <= 1e-4, "max |logit diff| " << err);
    // Greedy from BOS reproduces the golden sequence.
    const auto gen = runner.generate({ids[0]}, static_cast<int>(ids.size()) - 1, false);
    ST_CHECK(std::equal(gen.begin(), gen.end(), ids.begin() + 1) && gen.size() == ids.size() - 1);
}

// ---- CUDA ----------------------------------------------------------------------------------------

ST_TEST(fixtureCudaBf16WithinTwiceTransformersError)
{
    if (!torch::cuda::is_available()) sparsetrace::test::noGpu("no CUDA device");
    for (const char* name : kFixtures) {
        const Reference ref = readReference(fixture(name));
        ST_CHECK_MSG(!ref.logitsBf16.empty(), name << ": reference lacks transformers' bf16 logits");
        ModelRunner bf = ModelRunner::load(fixture(name).string(), {"cuda", "bf16", {}});
        const double ours = maxAbsDiff(bf.promptLogits(ref.ids), ref.logits);
        const double theirs = maxAbsDiff(ref.logitsBf16, ref.logits);
        std::cout << "  " << name << ": bf16 CUDA error " << ours << " vs transformers bf16 " << theirs << "\n";
        ST_CHECK_MSG(ours <= 2 * theirs, name << ": bf16 error " << ours << " > 2 x " << theirs);
        // fp32 on CUDA: two fp32 evaluations, each within 4e-5 of float64 on these models.
        ModelRunner f32 = ModelRunner::load(fixture(name).string(), {"cuda", "f32", {}});
        const double err32 = maxAbsDiff(f32.promptLogits(ref.ids), ref.logits);
        std::cout << "  " << name << ": fp32 CUDA error " << err32 << "\n";
        ST_CHECK_MSG(err32 <= 2e-4, name << ": fp32 CUDA error " << err32);
        ST_CHECK_MSG(f32.generate(ref.ids, static_cast<int>(ref.greedy.size()), false) == ref.greedy,
                     name << ": CUDA fp32 greedy tokens differ");
    }
}

ST_TEST(stories260KOnCuda)
{
    if (!torch::cuda::is_available()) sparsetrace::test::noGpu("no CUDA device");
    const fs::path dir = sparsetrace::test::requireShared() / "assets/models/stories260K";
    auto golden = core::SafetensorsFile::open((dir / "golden_greedy32.safetensors").string());
    const auto ids = golden.copy<std::int64_t>("input_ids");
    ModelRunner runner = ModelRunner::load(dir.string(), {"cuda", "f32", {}});
    ST_CHECK(maxAbsDiff(runner.promptLogits(ids), golden.copy<float>("logits")) <= 2e-4);
    const auto gen = runner.generate({ids[0]}, static_cast<int>(ids.size()) - 1, false);
    ST_CHECK(std::equal(gen.begin(), gen.end(), ids.begin() + 1) && gen.size() == ids.size() - 1);
}

// ---- broken model folders ----------------------------------------------------------------------

namespace {
// A copy of tiny-llama in the scratch folder whose weights pass through `edit`.
fs::path brokenCopy(const std::string& name, const std::function<void(nlohmann::json&)>& editConfig,
                    const std::function<bool(core::SafetensorsWriter&, const core::TensorInfo&, const core::SafetensorsFile&)>& editTensor)
{
    const fs::path src = fixture("tiny-llama");
    const fs::path dir = sparsetrace::test::scratchDir() / ("broken-model-" + name);
    sparsetrace::test::removeTree(dir);
    fs::create_directories(dir);
    nlohmann::json cfg = readJson(src / "config.json");
    editConfig(cfg);
    writeJson(dir / "config.json", cfg);
    auto file = core::SafetensorsFile::open((src / "model.safetensors").string());
    core::SafetensorsWriter w;
    for (const auto& t : file.tensors()) {
        if (editTensor(w, t, file)) continue;
        auto bytes = file.data(t);
        w.add(t.name, t.dtype, t.shape, bytes.data(), bytes.size());
    }
    w.write((dir / "model.safetensors").string());
    return dir;
}
auto keepConfig = [](nlohmann::json&) {};
auto keepTensors = [](core::SafetensorsWriter&, const core::TensorInfo&, const core::SafetensorsFile&) { return false; };
} // namespace

ST_TEST(brokenFoldersGiveOneLineMessages)
{
    auto load = [](const fs::path& dir) { return ModelRunner::load(dir.string(), {"cpu", "f32", {}}); };
    const fs::path noDir = sparsetrace::test::scratchDir() / "no-such-model";
    ST_CHECK_THROWS(load(noDir), ModelError, "config.json: cannot open");

    const fs::path missingTensor = brokenCopy("missing-tensor", keepConfig, [](auto&, const core::TensorInfo& t, auto&) {
        return t.name == "model.layers.1.mlp.up_proj.weight";
    });
    ST_CHECK_THROWS(load(missingTensor), ModelError, "model.safetensors: tensor model.layers.1.mlp.up_proj.weight is missing");

    const fs::path wrongShape = brokenCopy("wrong-shape", keepConfig, [](core::SafetensorsWriter& w, const core::TensorInfo& t,
                                                                       const core::SafetensorsFile& f) {
        if (t.name != "model.layers.0.self_attn.k_proj.weight") return false;
        auto bytes = f.data(t);
        w.add(t.name, t.dtype, {t.shape[1], t.shape[0]}, bytes.data(), bytes.size());
        return true;
    });
    ST_CHECK_THROWS(load(wrongShape), ModelError,
                    "tensor model.layers.0.self_attn.k_proj.weight has shape [64, 16], expected [16, 64]");

    const fs::path wrongDtype = brokenCopy("wrong-dtype", keepConfig, [](core::SafetensorsWriter& w, const core::TensorInfo& t,
                                                                       const core::SafetensorsFile& f) {
        if (t.name != "model.norm.weight") return false;
        auto bytes = f.data(t);
        w.add(t.name, core::DType::I32, t.shape, bytes.data(), bytes.size());
        return true;
    });
    ST_CHECK_THROWS(load(wrongDtype), ModelError, "tensor model.norm.weight has dtype I32");

    const fs::path arch = brokenCopy("arch", [](nlohmann::json& j) { j["architectures"] = {"GPT2LMHeadModel"}; }, keepTensors);
    ST_CHECK_THROWS(load(arch), ModelError, "config.json: key \"architectures\" names GPT2LMHeadModel");

    const fs::path noWeights = brokenCopy("no-weights", keepConfig, keepTensors);
    fs::remove(noWeights / "model.safetensors");
    ST_CHECK_THROWS(load(noWeights), ModelError, "neither model.safetensors nor model.safetensors.index.json");

    // A sharded folder whose index names a missing shard, and one that is complete.
    const fs::path sharded = brokenCopy("sharded", keepConfig, keepTensors);
    fs::rename(sharded / "model.safetensors", sharded / "model-00001-of-00001.safetensors");
    nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
    auto file = core::SafetensorsFile::open((sharded / "model-00001-of-00001.safetensors").string());
    for (const auto& t : file.tensors()) index["weight_map"][t.name] = "model-00001-of-00001.safetensors";
    writeJson(sharded / "model.safetensors.index.json", index);
    const Reference ref = readReference(fixture("tiny-llama"));
    ModelRunner ok = load(sharded);
    ST_CHECK(maxAbsDiff(ok.logitsAt(ref.ids, {0}), std::vector<float>(ref.logits.begin(), ref.logits.begin() + 384)) <= 1e-4);
    index["weight_map"]["model.norm.weight"] = "model-00002-of-00002.safetensors";
    writeJson(sharded / "model.safetensors.index.json", index);
    ST_CHECK_THROWS(load(sharded), ModelError, "shard model-00002-of-00002.safetensors (of tensor model.norm.weight) is missing");

    ModelRunner runner = load(fixture("tiny-llama"));
    ST_CHECK_THROWS(runner.promptLogits({1, 2, 384}), ArgumentError, "token id 384 is outside the vocabulary");
    ST_CHECK_THROWS(ModelRunner::load(fixture("tiny-llama").string(), {"tpu", "f32", {}}), ArgumentError, "unknown device");
}

ST_TEST(randomWeightsFromConfigAlone)
{
    const fs::path dir = sparsetrace::test::scratchDir() / "config-only-model";
    fs::create_directories(dir);
    fs::copy_file(fixture("tiny-gemma3") / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
    ModelRunner a = ModelRunner::load(dir.string(), {"cpu", "f32", 5});
    ModelRunner b = ModelRunner::load(dir.string(), {"cpu", "f32", 5});
    ModelRunner c = ModelRunner::load(dir.string(), {"cpu", "f32", 6});
    const std::vector<std::int64_t> ids{2, 10, 20, 30};
    const auto la = a.promptLogits(ids);
    ST_CHECK(a.info().randomWeights);
    ST_CHECK_EQ(la.size(), std::size_t(4 * 448));
    ST_CHECK(maxAbsDiff(la, b.promptLogits(ids)) == 0.0);
    ST_CHECK(maxAbsDiff(la, c.promptLogits(ids)) > 0.0);
}

ST_MAIN()
