// `sparsetrace generate`: greedy continuation of a prompt with a model folder on the CPU or CUDA,
// optionally writing the float32 logits of every prompt position.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"
#include "prompt_input.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/safetensors.h"
#include "sparsetrace/core/tokenizer.h"
#include "sparsetrace/gpu/model_runner.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

namespace sparsetrace::cli {

namespace {

struct GenerateOptions {
    std::string modelDir;
    PromptInput prompt;
    int maxNewTokens = 32;
    std::string device = "cpu";
    std::string dtype;
    std::string logitsOut;
    std::optional<std::uint64_t> randomSeed;
    bool noStop = false;
};

std::string idList(const std::vector<std::int64_t>& ids)
{
    std::string s = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
    return s + "]";
}

int runGenerate(const GenerateOptions& o)
{
    const PromptValue input = readPromptInput(o.prompt);
    // The tokenizer is needed for text prompts and used, when the folder has one, to print text.
    std::optional<core::Tokenizer> tokenizer;
    const bool textPrompt = input.text.has_value();
    if (textPrompt || std::ifstream(o.modelDir + "/tokenizer.json").good())
        tokenizer.emplace(core::Tokenizer::fromModelDir(o.modelDir));
    std::vector<std::int64_t> prompt;
    if (textPrompt) {
        const core::Encoding enc = tokenizer->encode(*input.text);
        prompt.assign(enc.ids.begin(), enc.ids.end());
        if (prompt.empty()) throw ArgumentError("the prompt encodes to no tokens");
    } else {
        prompt.assign(input.tokenIds.begin(), input.tokenIds.end());
        if (prompt.empty()) throw ArgumentError("the prompt is empty: give a prompt text or token ids");
    }
    gpu::ModelLoadOptions lo;
    lo.device = o.device;
    lo.dtype = o.dtype;
    lo.randomSeed = o.randomSeed;
    const auto t0 = std::chrono::steady_clock::now();
    gpu::ModelRunner runner = gpu::ModelRunner::load(o.modelDir, lo);
    const auto t1 = std::chrono::steady_clock::now();
    const auto& cfg = runner.config();
    std::fprintf(stderr, "model      %s: %s, %d layers, %d heads (%d KV), head dim %d, vocab %lld%s\n", o.modelDir.c_str(),
                 core::architectureName(cfg.architecture).c_str(), cfg.layers, cfg.heads, cfg.kvHeads, cfg.headDim,
                 static_cast<long long>(cfg.vocab), runner.info().randomWeights ? " (random weights)" : "");
    std::fprintf(stderr, "compute    %s on %s, loaded in %.2f s\n", runner.info().dtype.c_str(), runner.info().device.c_str(),
                 std::chrono::duration<double>(t1 - t0).count());

    if (!o.logitsOut.empty()) {
        const std::vector<float> logits = runner.promptLogits(prompt); // [T, V]
        core::SafetensorsWriter w;
        w.setMetadata("model", o.modelDir);
        w.setMetadata("device", runner.info().device);
        w.setMetadata("dtype", runner.info().dtype);
        w.add<float>("logits", {static_cast<std::int64_t>(prompt.size()), cfg.vocab}, std::span<const float>(logits));
        w.add<std::int64_t>("input_ids", {static_cast<std::int64_t>(prompt.size())}, std::span<const std::int64_t>(prompt));
        w.write(o.logitsOut);
        std::fprintf(stderr, "logits     [%zu, %lld] float32 -> %s\n", prompt.size(), static_cast<long long>(cfg.vocab),
                     o.logitsOut.c_str());
    }
    const auto t2 = std::chrono::steady_clock::now();
    const std::vector<std::int64_t> out = runner.generate(prompt, o.maxNewTokens, !o.noStop);
    const auto t3 = std::chrono::steady_clock::now();
    std::fprintf(stderr, "generated  %zu tokens after a %zu-token prompt in %.2f s\n", out.size(), prompt.size(),
                 std::chrono::duration<double>(t3 - t2).count());
    std::cout << idList(out) << "\n";
    if (tokenizer) {
        std::vector<std::int32_t> ids32;
        for (std::int64_t id : out) {
            if (id < 0 || static_cast<std::size_t>(id) >= tokenizer->vocabSize()) {
                ids32.clear();
                std::fprintf(stderr, "text       (token %lld is outside the tokenizer's vocabulary)\n", static_cast<long long>(id));
                break;
            }
            ids32.push_back(static_cast<std::int32_t>(id));
        }
        if (!ids32.empty()) std::cout << tokenizer->decode(ids32) << "\n";
    }
    return 0;
}

} // namespace

void addGenerateCommand(CLI::App& app, Runner& run)
{
    auto opts = std::make_shared<GenerateOptions>();
    CLI::App* cmd = app.add_subcommand("generate", "Greedy generation with a Hugging Face model folder (Llama, Qwen2, Gemma 3)");
    cmd->add_option("--model", opts->modelDir, "Model folder (config.json + model.safetensors or a sharded index)")
        ->required();
    addPromptOptions(cmd, opts->prompt, "Prompt text (encoded with the folder's tokenizer.json)");
    cmd->add_option("--max-new-tokens", opts->maxNewTokens, "Tokens to generate")->required()->check(CLI::NonNegativeNumber);
    cmd->add_option("--device", opts->device, "cpu or cuda (cuda:N)")->default_val("cpu");
    cmd->add_option("--dtype", opts->dtype, "f32, bf16 or f16 (default: f32 on cpu, bf16 on cuda)");
    cmd->add_option("--logits-out", opts->logitsOut, "Write the float32 logits of every prompt position (tensor logits [T, V])");
    cmd->add_option("--random-weights", opts->randomSeed, "Use seeded random weights: config.json alone is read");
    cmd->add_flag("--no-stop", opts->noStop, "Do not stop at an end-of-sequence token");
    cmd->callback([opts, &run] { run = [opts] { return runGenerate(*opts); }; });
}

} // namespace sparsetrace::cli
