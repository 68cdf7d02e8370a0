// A loaded language model (Hugging Face folder or config + random weights) on the CPU or CUDA:
// greedy generation and prompt logits. Torch-free header for the CLI and the GUI; the tracer
// reaches the torch-level model through gpu/src/model/model_access.h.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/model_config.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sparsetrace::gpu {

struct ModelLoadOptions {
    std::string device = "cpu"; // "cpu", "cuda", "cuda:N"
    std::string dtype;          // "f32", "bf16", "f16"; empty = f32 on the CPU, bf16 on CUDA
    // When set, config.json alone is read and the weights are seeded random numbers (normal,
    // std 0.02; norms at identity): full-size shapes without downloading weights.
    std::optional<std::uint64_t> randomSeed;
};

struct ModelInfo {
    std::string modelDir;
    std::string device;  // as resolved ("cpu", "cuda:0")
    std::string dtype;   // "f32", "bf16", "f16"
    bool randomWeights = false;
    std::int64_t parameterCount = 0;
};

class ModelRunner {
public:
    struct Impl;

    // Throws ModelError (folder unusable: message names the file, tensor or key), ArgumentError
    // (bad device/dtype) or BackendError.
    static ModelRunner load(const std::string& modelDir, const ModelLoadOptions& options = {});

    ModelRunner(ModelRunner&&) noexcept;
    ModelRunner& operator=(ModelRunner&&) noexcept;
    ~ModelRunner();

    const core::ModelConfig& config() const;
    const ModelInfo& info() const;
    std::int64_t vocabSize() const { return config().vocab; }

    // Greedy continuation of `prompt` with a KV cache: at most maxNewTokens new ids (the prompt
    // is not repeated); stops after an EOS id of config.json when stopAtEos.
    std::vector<std::int64_t> generate(const std::vector<std::int64_t>& prompt, int maxNewTokens,
                                       bool stopAtEos = true);
    // float32 logits of every prompt position, row-major [T, V].
    std::vector<float> promptLogits(const std::vector<std::int64_t>& tokens);
    // float32 logits of the given positions only, row-major [positions.size(), V].
    std::vector<float> logitsAt(const std::vector<std::int64_t>& tokens, const std::vector<std::int64_t>& positions);

    Impl& impl() { return *m_impl; }
    const Impl& impl() const { return *m_impl; }

private:
    explicit ModelRunner(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace sparsetrace::gpu
