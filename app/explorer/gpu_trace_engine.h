// The explorer's tracing engine: widgets::TraceEngineInterface over gpu::TraceEngine (CPU or
// CUDA libtorch). Kept apart from the window code so the UI library and its tests need no torch.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/widgets/trace_engine_interface.h"

namespace sparsetrace::explorer {

// Makes engines over gpu::TraceEngine; each keeps its loaded model between runs.
widgets::EngineFactory gpuEngineFactory();

} // namespace sparsetrace::explorer
