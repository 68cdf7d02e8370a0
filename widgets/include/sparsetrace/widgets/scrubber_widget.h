// Layer and head sliders with spin boxes, bound to the shared selection.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QPointer>
#include <QWidget>

class QSlider;
class QSpinBox;

namespace sparsetrace::widgets {

class LayerHeadSelection;

class ScrubberWidget : public QWidget {
    Q_OBJECT
public:
    explicit ScrubberWidget(LayerHeadSelection* selection, QWidget* parent = nullptr);
    QSlider* layerSlider() const { return m_layerSlider; }
    QSlider* headSlider() const { return m_headSlider; }

private:
    void sync();
    QPointer<LayerHeadSelection> m_selection;
    QSlider* m_layerSlider;
    QSlider* m_headSlider;
    QSpinBox* m_layerSpin;
    QSpinBox* m_headSpin;
};

} // namespace sparsetrace::widgets
