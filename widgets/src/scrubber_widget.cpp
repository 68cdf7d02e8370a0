// Layer/head sliders (see scrubber_widget.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/scrubber_widget.h"

#include "sparsetrace/widgets/layer_head_selection.h"

#include <QGridLayout>
#include <QLabel>
#include <QSlider>
#include <QSpinBox>

namespace sparsetrace::widgets {

ScrubberWidget::ScrubberWidget(LayerHeadSelection* selection, QWidget* parent) : QWidget(parent), m_selection(selection)
{
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(4, 2, 4, 2);
    m_layerSlider = new QSlider(Qt::Horizontal, this);
    m_headSlider = new QSlider(Qt::Horizontal, this);
    m_layerSpin = new QSpinBox(this);
    m_headSpin = new QSpinBox(this);
    m_layerSlider->setToolTip(tr("Layer (Up/Down on the map)"));
    m_headSlider->setToolTip(tr("Head (Left/Right on the map, Home/End for the first/last head)"));
    grid->addWidget(new QLabel(tr("Layer"), this), 0, 0);
    grid->addWidget(m_layerSlider, 0, 1);
    grid->addWidget(m_layerSpin, 0, 2);
    grid->addWidget(new QLabel(tr("Head"), this), 0, 3);
    grid->addWidget(m_headSlider, 0, 4);
    grid->addWidget(m_headSpin, 0, 5);
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(4, 1);
    auto pickLayer = [this](int l) {
        if (m_selection) m_selection->select(l, m_selection->head());
    };
    auto pickHead = [this](int h) {
        if (m_selection) m_selection->select(m_selection->layer(), h);
    };
    connect(m_layerSlider, &QSlider::valueChanged, this, pickLayer);
    connect(m_layerSpin, &QSpinBox::valueChanged, this, pickLayer);
    connect(m_headSlider, &QSlider::valueChanged, this, pickHead);
    connect(m_headSpin, &QSpinBox::valueChanged, this, pickHead);
    connect(selection, &LayerHeadSelection::changed, this, &ScrubberWidget::sync);
    sync();
}

void ScrubberWidget::sync()
{
    if (!m_selection) return;
    const int maxLayer = std::max(0, m_selection->layers() - 1), maxHead = std::max(0, m_selection->heads() - 1);
    for (QWidget* w : {static_cast<QWidget*>(m_layerSlider), static_cast<QWidget*>(m_layerSpin),
                       static_cast<QWidget*>(m_headSlider), static_cast<QWidget*>(m_headSpin)})
        w->blockSignals(true);
    m_layerSlider->setRange(0, maxLayer);
    m_layerSpin->setRange(0, maxLayer);
    m_headSlider->setRange(0, maxHead);
    m_headSpin->setRange(0, maxHead);
    m_layerSlider->setValue(m_selection->layer());
    m_layerSpin->setValue(m_selection->layer());
    m_headSlider->setValue(m_selection->head());
    m_headSpin->setValue(m_selection->head());
    for (QWidget* w : {static_cast<QWidget*>(m_layerSlider), static_cast<QWidget*>(m_layerSpin),
                       static_cast<QWidget*>(m_headSlider), static_cast<QWidget*>(m_headSpin)})
        w->blockSignals(false);
    setEnabled(m_selection->layers() > 0);
}

} // namespace sparsetrace::widgets
