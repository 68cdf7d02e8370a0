// Layer and head selection (see layer_head_selection.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/layer_head_selection.h"

#include <algorithm>

namespace sparsetrace::widgets {

LayerHeadSelection::LayerHeadSelection(QObject* parent) : QObject(parent) {}

void LayerHeadSelection::setShape(int layers, int heads)
{
    m_layers = std::max(0, layers);
    m_heads = std::max(0, heads);
    const int l = std::clamp(m_layer, 0, std::max(0, m_layers - 1));
    const int h = std::clamp(m_head, 0, std::max(0, m_heads - 1));
    m_layer = -1; // force the signal: the trace behind the selection changed
    select(l, h);
}

void LayerHeadSelection::select(int layer, int head)
{
    layer = std::clamp(layer, 0, std::max(0, m_layers - 1));
    head = std::clamp(head, 0, std::max(0, m_heads - 1));
    if (layer == m_layer && head == m_head) return;
    m_layer = layer;
    m_head = head;
    emit changed(m_layer, m_head);
}

void LayerHeadSelection::stepHead(int delta) { select(m_layer, m_head + delta); }
void LayerHeadSelection::stepLayer(int delta) { select(m_layer + delta, m_head); }
void LayerHeadSelection::firstHead() { select(m_layer, 0); }
void LayerHeadSelection::lastHead() { select(m_layer, m_heads - 1); }
void LayerHeadSelection::firstLayer() { select(0, m_head); }
void LayerHeadSelection::lastLayer() { select(m_layers - 1, m_head); }

} // namespace sparsetrace::widgets
