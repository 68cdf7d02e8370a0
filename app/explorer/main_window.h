// The explorer's main window: opens traces (menu, recent files, drag and drop, command line)
// in a worker thread, wires the map, overview, sliders and text view through one selection,
// compares two traces of the same prompt, exports figures, and remembers its settings. Each
// trace opens on the view that fits its kind (a needle trace on its route, a chain of thought on
// its thought anchors, any other on the map alone), or on the view the user last chose for that
// kind; a needle trace shows a one-line retrieval summary above the map.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/widgets/async_jobs.h"
#include "sparsetrace/widgets/figure.h"

#include <QList>
#include <QMainWindow>
#include <QMessageBox>
#include <QPoint>
#include <QPointer>
#include <QSize>

#include <optional>

class QAction;
class QActionGroup;
class QLabel;
class QMenu;

namespace sparsetrace::widgets {
class AttentionMapWidget;
class HeadOverviewWidget;
class LayerHeadSelection;
class ScrubberWidget;
class TraceTextView;
class AnalysisView;
class NeedleSweepView;
class RouteView;
class ThoughtAnchorsView;
} // namespace sparsetrace::widgets

namespace sparsetrace::explorer {

class RunController;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    widgets::TracePtr trace() const { return m_trace; }
    QString tracePath() const { return m_path; }
    QString lastError() const { return m_lastError; }
    QMessageBox* errorBox() const { return m_errorBox; }
    widgets::AttentionMapWidget* map() const { return m_map; }
    widgets::AttentionMapWidget* compareMap() const { return m_mapB; }
    widgets::HeadOverviewWidget* overview() const { return m_overview; }
    widgets::LayerHeadSelection* selection() const { return m_selection; }
    widgets::TraceTextView* textView() const { return m_text; }
    widgets::ThoughtAnchorsView* anchorsView() const { return m_anchors; }
    widgets::NeedleSweepView* sweepView() const { return m_sweep; }
    widgets::RouteView* routeView() const { return m_routes; }
    widgets::AnalysisView* activeView() const { return m_activeView; } // what File > Export View writes
    QStringList recentFiles() const;
    bool loading() const;
    // Traces made in this window (New Trace, Save, the unsaved-trace questions).
    RunController* runs() const { return m_runs; }

public slots:
    void openFile(const QString& path);
    void openCompare(const QString& path);
    void closeCompare();
    void exportFigure(const QString& path, QSize size, double dpi);
    // Shows `trace`; `path` is its file, empty for a trace made here and not saved yet.
    void showTrace(widgets::TracePtr trace, const QString& path);
    // The shown trace has been saved to `path`.
    void setTracePath(const QString& path);
    // One window-modal message box at a time; the event loop keeps running.
    void showError(const QString& title, const QString& message);
    void exportView(const QString& path, QSize size, double dpi); // the active analysis view
    // Raises the analysis dock "anchors", "sweep" or "routes"; false for another name.
    bool showAnalysisView(const QString& name);
    // Closes every analysis dock: the map alone.
    void hideAnalysisViews();

public:
    // "needle", "cot" (a <think> chain of thought) or "plain": the kind of the open trace.
    QString traceKind() const { return m_traceKind; }
    // The analysis view in front ("anchors", "sweep", "routes"), or "map" when every analysis
    // dock is closed.
    QString shownView() const;
    // The view a trace of `kind` opens on: the user's last choice for the kind, else its default.
    static QString viewForKind(const QString& kind);
    // The needle trace's summary line above the map (empty for other traces).
    QString needleLine() const;

signals:
    // The shown trace or its file changed (the run controller follows it).
    void shownTraceChanged(sparsetrace::widgets::TracePtr trace, const QString& path);
    void traceLoaded(const QString& path);
    void loadFailed(const QString& path, const QString& message);
    void snapshotShown(int layer, int head);

protected:
    void closeEvent(QCloseEvent* e) override;
    void showEvent(QShowEvent* e) override;
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

private:
    void buildMenus();
    void wireRunController();
    void setupAnalysisViews(); // analysis_docks.cpp, as the three functions below
    void applyAnchorHighlight(int layer, int head);
    void openSweepDialog();
    void showExportViewDialog();
    void onLoaded(widgets::TracePtr trace, const QString& path);
    void onCompareLoaded(widgets::TracePtr trace, const QString& path);
    void requestSnapshots();
    void onSnapshot(widgets::SnapshotPtr s);
    void onCompareSnapshot(widgets::SnapshotPtr s);
    void applyCompareMode();
    void addRecent(const QString& path);
    void rebuildRecentMenu();
    void showExportDialog();
    // The export dialog of Export Figure and Export View: file, width, height, resolution.
    struct ExportChoice {
        QString path;
        QSize size;
        double dpi = 200;
    };
    std::optional<ExportChoice> askExport(const QString& title, const QString& suggestedPath);
    void updateTitle();
    void applyViewForTrace();      // opens the view that fits the trace's kind
    QString shownViewName(const widgets::AnalysisView* view) const; // "anchors", "sweep" or "routes"
    void rememberViewChoice();     // the user changed the docks: remember it for this kind
    void showNeedleSummary();      // the line above the map, computed in the thread pool

    widgets::TraceLoader* m_loader;
    widgets::TraceLoader* m_compareLoader;
    widgets::SnapshotPreparer* m_preparer;
    widgets::SnapshotPreparer* m_comparePreparer;
    widgets::LayerHeadSelection* m_selection;
    widgets::AttentionMapWidget* m_map;
    widgets::AttentionMapWidget* m_mapB;
    widgets::HeadOverviewWidget* m_overview;
    widgets::ScrubberWidget* m_scrubber;
    widgets::TraceTextView* m_text;
    QLabel* m_hoverLabel;
    QLabel* m_needleLine;
    std::uint64_t m_needleJob = 0;
    QString m_traceKind;
    bool m_firstLayout = false;  // no saved layout: size the docks when first shown
    bool m_applyingView = false; // docks change because a trace opened, not because the user asked
    RunController* m_runs;
    widgets::ThoughtAnchorsView* m_anchors = nullptr;
    widgets::NeedleSweepView* m_sweep = nullptr;
    widgets::RouteView* m_routes = nullptr;
    widgets::AnalysisView* m_activeView = nullptr;
    // qApp's focusChanged, cut in ~MainWindow: focus moves while the base classes tear down the
    // children, after this class's members are gone.
    QMetaObject::Connection m_focusConnection;
    QList<QPoint> m_anchorHeads;                      // receiver heads (layer, head) of the chosen anchor
    std::pair<qint64, qint64> m_anchorTokens{0, -1};  // its tokens [first, last]
    QMenu* m_recentMenu = nullptr;
    QAction* m_differenceAction = nullptr;
    QAction* m_closeCompareAction = nullptr;
    QPointer<QMessageBox> m_errorBox;
    widgets::TracePtr m_trace;
    widgets::TracePtr m_compare;
    widgets::SnapshotPtr m_snapshotB;
    QString m_path;
    QString m_comparePath;
    QString m_lastError;
};

} // namespace sparsetrace::explorer
