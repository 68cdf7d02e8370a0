// Token text for people: byte-level BPE marks (Ġ for a space, Ċ for a newline, ĉ for a tab)
// and SentencePiece's ▁ shown as the characters they stand for, whitespace made visible.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"

#include <QString>

#include <cstdint>

namespace sparsetrace::widgets {

// The token as text: Ġ/▁ -> space, Ċ -> newline, ĉ -> tab (other byte marks U+0100..U+0120
// -> the control byte they encode).
QString decodeTokenString(const std::string& token);
// As decodeTokenString, with whitespace visible: space ·, newline ↵, tab →.
QString prettyToken(const std::string& token);
// Text of tokens [first, last], prettified, shortened to about `maxChars` with an ellipsis.
QString tokenRangeText(const core::TraceInfo& info, std::int64_t first, std::int64_t last, int maxChars = 60);

} // namespace sparsetrace::widgets
