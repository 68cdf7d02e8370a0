// Token prettifying (see token_text.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/token_text.h"

#include <algorithm>

namespace sparsetrace::widgets {

QString decodeTokenString(const std::string& token)
{
    const QString s = QString::fromUtf8(token.data(), static_cast<qsizetype>(token.size()));
    QString out;
    out.reserve(s.size());
    for (QChar c : s) {
        const char16_t u = c.unicode();
        if (u == 0x2581) out += QLatin1Char(' ');                    // ▁ SentencePiece space
        else if (u >= 0x0100 && u <= 0x0120) out += QChar(u - 0x0100); // byte-level BPE: bytes 0..32
        else out += c;
    }
    return out;
}

QString prettyToken(const std::string& token)
{
    QString s = decodeTokenString(token);
    QString out;
    out.reserve(s.size());
    for (QChar c : s) {
        if (c == QLatin1Char(' ')) out += QChar(0x00B7);
        else if (c == QLatin1Char('\n')) out += QChar(0x21B5);
        else if (c == QLatin1Char('\t')) out += QChar(0x2192);
        else if (c == QLatin1Char('\r')) out += QStringLiteral("\\r");
        else if (c.unicode() < 0x20) out += QStringLiteral("\\x%1").arg(c.unicode(), 2, 16, QLatin1Char('0'));
        else out += c;
    }
    return out;
}

QString tokenRangeText(const core::TraceInfo& info, std::int64_t first, std::int64_t last, int maxChars)
{
    const auto n = static_cast<std::int64_t>(info.tokens.strings.size());
    first = std::max<std::int64_t>(0, first);
    last = std::min(last, n - 1);
    QString out;
    for (std::int64_t t = first; t <= last; ++t) {
        out += decodeTokenString(info.tokens.strings[static_cast<std::size_t>(t)]);
        if (out.size() > maxChars) {
            out.truncate(maxChars);
            out += QChar(0x2026);
            break;
        }
    }
    out.replace(QLatin1Char('\n'), QChar(0x21B5));
    out.replace(QLatin1Char('\t'), QChar(0x2192));
    return out;
}

} // namespace sparsetrace::widgets
