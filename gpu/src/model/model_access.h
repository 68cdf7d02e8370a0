// The torch-level model behind a ModelRunner, for engine code (the tracer) that runs its own
// forward passes, e.g. with a Stream-Attn AttentionBackend. Torch header: gpu/src only.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "model/transformer.h"
#include "sparsetrace/gpu/model_runner.h"

namespace sparsetrace::gpu {

struct ModelRunner::Impl {
    Transformer model;
    ModelInfo info;
};

inline Transformer& transformerOf(ModelRunner& runner) { return runner.impl().model; }
inline const Transformer& transformerOf(const ModelRunner& runner) { return runner.impl().model; }

} // namespace sparsetrace::gpu
