// The built-in weights of the rule-based labeller (sentence_labeller_model.cpp, generated from
// the JSON that `sparsetrace label-agreement --fit-model` writes).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/sentence_labeller.h"

namespace sparsetrace::core {

SentenceLabellerModel makeBuiltInSentenceLabeller();

} // namespace sparsetrace::core
