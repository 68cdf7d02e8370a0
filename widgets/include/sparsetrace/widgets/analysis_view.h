// What the explorer's analysis views (thought anchors, needle sweeps, routes) share: a base
// class the main window exports through (File > Export View...), work in the thread pool with
// stale results dropped, the export of QCustomPlot plots under a caption, and colours (gradients
// from the colormap tables, a categorical palette). QCustomPlot stays out of this header.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/widgets/colormap.h"
#include "sparsetrace/widgets/figure.h"
#include "sparsetrace/widgets/future_delivery.h"

#include <QMetaObject>
#include <QObject>
#include <QWidget>
#include <QtConcurrent/QtConcurrentRun>

#include <cstdint>
#include <exception>
#include <optional>
#include <vector>

class QCustomPlot;
class QCPColorGradient;

namespace sparsetrace::widgets {

class AnalysisView : public QWidget {
    Q_OBJECT
public:
    using QWidget::QWidget;
    // The view's title for menus and docks ("Thought anchors", ...).
    virtual QString title() const = 0;
    // True when there is something to export.
    virtual bool hasContent() const = 0;
    // "model · T = ... · what the view shows and with which settings".
    virtual QString caption() const = 0;
    // Writes the view's figure (its plots under the caption); ArgumentError when empty, or as
    // exportPainting throws.
    virtual void exportView(const ExportRequest& request) const = 0;

signals:
    // A one-line note for the status bar (not an error).
    void statusMessage(const QString& message);
    // An error to show the user (a file that cannot be read, an analysis that does not apply).
    void failed(const QString& title, const QString& message);
};

// Runs `work` (returning T, may throw) in the thread pool and calls `done(std::optional<T>,
// QString error)` on `context`'s thread through the event loop, unless `job` no longer equals
// `*current` by then (a newer request made it stale). No exception crosses the thread.
template <class T, class Work, class Done>
void runInBackground(QObject* context, const std::uint64_t* current, std::uint64_t job, Work work, Done done)
{
    struct Outcome {
        std::optional<T> value;
        QString error;
    };
    auto future = QtConcurrent::run([work = std::move(work)]() -> Outcome {
        try {
            return {work(), {}};
        } catch (const std::exception& e) {
            return {std::nullopt, QString::fromStdString(e.what())};
        } catch (...) {
            return {std::nullopt, QStringLiteral("unknown error")};
        }
    });
    deliverWhenFinished(context, std::move(future), [current, job, done = std::move(done)](const Outcome& r) {
        if (*current != job) return;
        done(r.value, r.error);
    });
}

// A QCustomPlot colour gradient sampled from a colormap's table (9 stops, linear in between).
QCPColorGradient gradientFromColormap(ColormapId id);
// Colour i of n well-separated hues (heads, categories): not a gradient, so neighbours differ.
QColor categoricalColor(int i, int n);
// The fonts every analysis plot uses, so that exports match the screen.
void styleAnalysisPlot(QCustomPlot* plot);

// Paints plots in a grid of `columns` under a word-wrapped caption into the export's area:
// through exportPainting, so PNG, SVG and PDF behave as the map export. Text stays text in SVG
// and PDF (the plots are recorded as vector pictures, not pixels).
void exportPlots(const ExportRequest& request, const QString& caption, const QString& description,
                 const std::vector<QCustomPlot*>& plots, int columns = 1);

} // namespace sparsetrace::widgets
