// Small pieces the explorer's dialogs share: spin boxes with a tip, a path field with Browse…,
// and coloured status lines.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QColor>
#include <QHBoxLayout>
#include <QPalette>
#include <QLineEdit>
#include <QObject>
#include <QPushButton>
#include <QSpinBox>
#include <QString>
#include <QWidget>

namespace sparsetrace::explorer {

inline QSpinBox* spinBox(QWidget* parent, int lo, int hi, int value, const QString& tip)
{
    auto* s = new QSpinBox(parent);
    s->setRange(lo, hi);
    s->setValue(value);
    s->setToolTip(tip);
    return s;
}

// A line edit with a Browse… button.
inline QWidget* pathRow(QWidget* parent, QLineEdit* edit, QPushButton*& browse)
{
    auto* row = new QWidget(parent);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    browse = new QPushButton(QObject::tr("Browse…"), row);
    layout->addWidget(browse);
    return row;
}

// Rich text: `text` (escaped) in `colour`.
inline QString coloured(const QString& text, const QColor& colour)
{
    return QStringLiteral("<span style=\"color:%1\">%2</span>").arg(colour.name(), text.toHtmlEscaped());
}
inline QString coloured(const QString& text, const char* colour) { return coloured(text, QColor(QLatin1String(colour))); }

// Rich text in the palette's secondary colour (readable in light and dark palettes).
inline QString muted(const QWidget* w, const QString& text)
{
    return coloured(text, w->palette().color(QPalette::PlaceholderText));
}

} // namespace sparsetrace::explorer
