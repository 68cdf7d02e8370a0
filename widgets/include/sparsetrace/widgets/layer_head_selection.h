// The selected (layer, head), shared by the sliders, the map's keys, the overview and the
// main window; stepping clamps to the trace's shape.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QObject>

namespace sparsetrace::widgets {

class LayerHeadSelection : public QObject {
    Q_OBJECT
public:
    explicit LayerHeadSelection(QObject* parent = nullptr);
    int layer() const { return m_layer; }
    int head() const { return m_head; }
    int layers() const { return m_layers; }
    int heads() const { return m_heads; }
    void setShape(int layers, int heads); // keeps the selection when it still fits

public slots:
    void select(int layer, int head);
    void stepHead(int delta);  // Left / Right
    void stepLayer(int delta); // Up / Down
    void firstHead();          // Home
    void lastHead();           // End
    void firstLayer();         // Ctrl+Home
    void lastLayer();          // Ctrl+End

signals:
    void changed(int layer, int head);

private:
    int m_layer = 0, m_head = 0, m_layers = 0, m_heads = 0;
};

} // namespace sparsetrace::widgets
