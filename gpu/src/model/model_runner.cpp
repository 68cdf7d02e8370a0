// ModelRunner: the torch-free face of the Transformer (load, generate, logits) for the CLI/GUI.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/gpu/model_runner.h"

#include "model/model_access.h"
#include "sparsetrace/core/error.h"

#include <cstring>

namespace sparsetrace::gpu {

ModelRunner::ModelRunner(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
ModelRunner::ModelRunner(ModelRunner&&) noexcept = default;
ModelRunner& ModelRunner::operator=(ModelRunner&&) noexcept = default;
ModelRunner::~ModelRunner() = default;

ModelRunner ModelRunner::load(const std::string& modelDir, const ModelLoadOptions& options)
{
    TransformerOptions topt;
    topt.device = parseDevice(options.device);
    topt.dtype = options.dtype.empty() ? (topt.device.is_cuda() ? torch::kBFloat16 : torch::kFloat32) : parseDtype(options.dtype);
    auto impl = std::make_unique<Impl>(Impl{
        options.randomSeed ? Transformer::random(core::ModelConfig::load(modelDir), *options.randomSeed, topt)
                           : Transformer::load(modelDir, topt),
        {}});
    impl->info.modelDir = modelDir;
    impl->info.device = topt.device.str();
    impl->info.dtype = dtypeString(topt.dtype);
    impl->info.randomWeights = options.randomSeed.has_value();
    impl->info.parameterCount = impl->model.config().parameterCount();
    return ModelRunner(std::move(impl));
}

const core::ModelConfig& ModelRunner::config() const { return m_impl->model.config(); }
const ModelInfo& ModelRunner::info() const { return m_impl->info; }

std::vector<std::int64_t> ModelRunner::generate(const std::vector<std::int64_t>& prompt, int maxNewTokens, bool stopAtEos)
{
    DenseAttention dense;
    return m_impl->model.generate(prompt, maxNewTokens, dense, stopAtEos);
}

std::vector<float> ModelRunner::logitsAt(const std::vector<std::int64_t>& tokens, const std::vector<std::int64_t>& positions)
{
    if (tokens.empty()) throw ArgumentError("no tokens");
    DenseAttention dense;
    torch::Tensor ids = torch::tensor(tokens, torch::TensorOptions().dtype(torch::kInt64));
    torch::Tensor logits = m_impl->model.forward(ids, positions, dense).to(torch::kCPU).contiguous(); // [R, V] f32
    std::vector<float> out(static_cast<std::size_t>(logits.numel()));
    if (!out.empty()) std::memcpy(out.data(), logits.data_ptr<float>(), out.size() * sizeof(float));
    return out;
}

std::vector<float> ModelRunner::promptLogits(const std::vector<std::int64_t>& tokens)
{
    std::vector<std::int64_t> rows(tokens.size());
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i);
    return logitsAt(tokens, rows);
}

} // namespace sparsetrace::gpu
