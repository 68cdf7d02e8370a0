// The explorer's main window (see main_window.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "main_window.h"

#include "install_paths.h"
#include "run_controller.h"

#include "sparsetrace/core/niah.h"
#include "sparsetrace/core/version.h"
#include "sparsetrace/widgets/analysis_view.h"
#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/head_overview_widget.h"
#include "sparsetrace/widgets/layer_head_selection.h"
#include "sparsetrace/widgets/needle_sweep_view.h"
#include "sparsetrace/widgets/scrubber_widget.h"
#include "sparsetrace/widgets/token_text.h"
#include "sparsetrace/widgets/trace_text_view.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QShowEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QVBoxLayout>

#include <algorithm>

namespace sparsetrace::explorer {

using namespace sparsetrace::widgets;

namespace {
constexpr int kMaxRecent = 10;
} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), m_loader(new TraceLoader(this)), m_compareLoader(new TraceLoader(this)),
      m_preparer(new SnapshotPreparer(this)), m_comparePreparer(new SnapshotPreparer(this)),
      m_selection(new LayerHeadSelection(this))
{
    setAcceptDrops(true);
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(2, 2, 2, 2);
    m_scrubber = new ScrubberWidget(m_selection, central);
    auto* maps = new QSplitter(Qt::Horizontal, central);
    m_map = new AttentionMapWidget(maps);
    m_mapB = new AttentionMapWidget(maps);
    m_map->setSelection(m_selection);
    m_mapB->setSelection(m_selection);
    m_mapB->hide();
    m_needleLine = new QLabel(central);
    m_needleLine->setTextFormat(Qt::RichText);
    m_needleLine->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_needleLine->setWordWrap(true); // never wider than the window allows
    m_needleLine->hide();
    layout->addWidget(m_scrubber);
    layout->addWidget(m_needleLine);
    layout->addWidget(maps, 1);
    setCentralWidget(central);

    m_overview = new HeadOverviewWidget(this);
    m_overview->setSelection(m_selection);
    auto* overviewDock = new QDockWidget(tr("Layers × heads"), this);
    overviewDock->setObjectName("overviewDock");
    overviewDock->setWidget(m_overview);
    addDockWidget(Qt::LeftDockWidgetArea, overviewDock);

    m_text = new TraceTextView(this);
    auto* textDock = new QDockWidget(tr("Text"), this);
    textDock->setObjectName("textDock");
    textDock->setWidget(m_text);
    addDockWidget(Qt::BottomDockWidgetArea, textDock);

    m_hoverLabel = new QLabel(this);
    m_hoverLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statusBar()->addWidget(m_hoverLabel, 1);
    m_runs = new RunController(this);
    wireRunController();

    connect(m_loader, &TraceLoader::loaded, this, &MainWindow::onLoaded);
    connect(m_loader, &TraceLoader::failed, this, [this](const QString& path, const QString& message) {
        statusBar()->showMessage(tr("Could not open %1").arg(QFileInfo(path).fileName()), 5000);
        showError(tr("Cannot open trace"), message);
        emit loadFailed(path, message);
    });
    connect(m_loader, &TraceLoader::busyChanged, this, [this](bool busy) {
        if (busy) statusBar()->showMessage(tr("Loading…"));
        else statusBar()->clearMessage();
    });
    connect(m_compareLoader, &TraceLoader::loaded, this, &MainWindow::onCompareLoaded);
    connect(m_compareLoader, &TraceLoader::failed, this,
            [this](const QString&, const QString& message) { showError(tr("Cannot open the trace to compare"), message); });
    connect(m_preparer, &SnapshotPreparer::ready, this, &MainWindow::onSnapshot);
    connect(m_preparer, &SnapshotPreparer::failed, this, [this](const QString& m) { showError(tr("Cannot show this head"), m); });
    connect(m_comparePreparer, &SnapshotPreparer::ready, this, &MainWindow::onCompareSnapshot);
    connect(m_comparePreparer, &SnapshotPreparer::failed, this, [this](const QString& m) { showError(tr("Cannot show the compared head"), m); });
    connect(m_selection, &LayerHeadSelection::changed, this, [this](int, int) { requestSnapshots(); });

    connect(m_map, &AttentionMapWidget::hoverText, m_hoverLabel, &QLabel::setText);
    connect(m_mapB, &AttentionMapWidget::hoverText, m_hoverLabel, &QLabel::setText);
    auto showHit = [this](const BlockHit& hit) {
        auto s = m_map->snapshot();
        if (!hit.valid || !s) return;
        const auto q = s->info().rowQueries(hit.row);
        const auto k = s->keyTokens(hit.keyBlock);
        m_text->showSpans(q[0], q[1], k[0], k[1]);
    };
    connect(m_map, &AttentionMapWidget::hovered, this, [this, showHit](const BlockHit& h) {
        if (!m_map->locked()) showHit(h);
    });
    connect(m_map, &AttentionMapWidget::lockChanged, this, [showHit](bool locked, const BlockHit& h) {
        if (locked) showHit(h);
    });
    connect(m_text, &TraceTextView::tokensSelected, this, [this](std::int64_t a, std::int64_t b) {
        m_map->highlightTokens(a, b);
        m_mapB->highlightTokens(a, b);
    });
    connect(m_text, &TraceTextView::jumpRequested, this, [this](std::int64_t t) {
        m_map->centreOnTokens(t, t);
        m_map->highlightTokens(t, t);
    });
    connect(m_map, &AttentionMapWidget::viewChanged, m_mapB, &AttentionMapWidget::setView);
    connect(m_mapB, &AttentionMapWidget::viewChanged, m_map, &AttentionMapWidget::setView);

    buildMenus();
    setupAnalysisViews();
    QSettings settings;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray());
    if (!settings.contains("window/geometry")) {
        // The first window takes most of the screen, centred; the map most of the window.
        const QRect screen = this->screen() ? this->screen()->availableGeometry() : QRect(0, 0, 1280, 860);
        const QSize size(std::max(800, screen.width() * 9 / 10), std::max(600, screen.height() * 9 / 10));
        resize(size.boundedTo(screen.size()));
        move(screen.center() - QPoint(width() / 2, height() / 2));
        m_firstLayout = true; // the dock widths, once the window is shown at this size
    }
    updateTitle();
}

MainWindow::~MainWindow()
{
    // The base classes destroy the docks and views after this class's members are gone, and they
    // signal on the way (visibility, toggled actions, focus): cut every signal aimed at this
    // window first, so no handler runs on a half-destroyed MainWindow.
    disconnect(m_focusConnection);
    for (QObject* child : findChildren<QObject*>()) child->disconnect(this);
}

void MainWindow::buildMenus()
{
    QSettings settings;
    QMenu* file = menuBar()->addMenu(tr("&File"));
    m_runs->addNewTraceAction(file);
    file->addAction(tr("&Open…"), QKeySequence::Open, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open trace"), QFileInfo(m_path).absolutePath(),
                                                          tr("SparseTrace traces (*.sptrace);;All files (*)"));
        if (!path.isEmpty()) openFile(path);
    });
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    rebuildRecentMenu();
    file->addAction(tr("Open Needle &Sweep…"), this, &MainWindow::openSweepDialog);
    m_runs->addSaveActions(file);
    file->addSeparator();
    file->addAction(tr("&Compare with…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Compare with trace"), QFileInfo(m_path).absolutePath(),
                                                          tr("SparseTrace traces (*.sptrace);;All files (*)"));
        if (!path.isEmpty()) openCompare(path);
    });
    m_closeCompareAction = file->addAction(tr("Close Comparison"), this, &MainWindow::closeCompare);
    m_closeCompareAction->setEnabled(false);
    file->addSeparator();
    file->addAction(tr("&Export Figure…"), QKeySequence(tr("Ctrl+E")), this, &MainWindow::showExportDialog);
    file->addAction(tr("Export &View…"), QKeySequence(tr("Ctrl+Shift+E")), this, &MainWindow::showExportViewDialog);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* view = menuBar()->addMenu(tr("&View"));
    QMenu* maps = view->addMenu(tr("&Colormap"));
    auto* mapGroup = new QActionGroup(this);
    const ColormapId current = colormapFromName(settings.value("view/colormap", "viridis").toString());
    for (const QString& name : colormapNames()) {
        QAction* a = maps->addAction(name);
        a->setCheckable(true);
        a->setChecked(colormapFromName(name) == current);
        mapGroup->addAction(a);
        connect(a, &QAction::triggered, this, [this, name] {
            m_map->setColormap(colormapFromName(name));
            m_mapB->setColormap(colormapFromName(name));
            m_overview->setColormap(colormapFromName(name));
            QSettings().setValue("view/colormap", name);
        });
    }
    m_map->setColormap(current);
    m_mapB->setColormap(current);
    m_overview->setColormap(current);

    QAction* log = view->addAction(tr("&Log Colour Scale"));
    log->setCheckable(true);
    log->setShortcut(QKeySequence(tr("Ctrl+L")));
    log->setChecked(settings.value("view/scale", "linear").toString() == "log");
    auto applyScale = [this](bool on) {
        m_map->setScale(on ? ColorScale::Log : ColorScale::Linear);
        m_mapB->setScale(on ? ColorScale::Log : ColorScale::Linear);
        QSettings().setValue("view/scale", on ? "log" : "linear");
    };
    connect(log, &QAction::toggled, this, applyScale);
    applyScale(log->isChecked());

    QAction* sinks = view->addAction(tr("&Hide Sink Blocks"));
    sinks->setCheckable(true);
    sinks->setChecked(settings.value("view/hideSinks", false).toBool());
    auto applySinks = [this](bool on) {
        m_map->setHideSinks(on);
        m_mapB->setHideSinks(on);
        QSettings().setValue("view/hideSinks", on);
    };
    connect(sinks, &QAction::toggled, this, applySinks);
    applySinks(sinks->isChecked());

    QAction* oracle = view->addAction(tr("Outline &Oracle-only Blocks"));
    oracle->setCheckable(true);
    oracle->setToolTip(tr("Blocks that the oracle top-K kept and the sparse mask missed (fidelity traces)"));
    connect(oracle, &QAction::toggled, m_map, &AttentionMapWidget::setOracleOutlines);
    QAction* captured = view->addAction(tr("Show Captured &Mass"));
    captured->setCheckable(true);
    connect(captured, &QAction::toggled, m_map, &AttentionMapWidget::setShowCaptured);
    m_differenceAction = view->addAction(tr("Comparison as &Difference (A − B)"));
    m_differenceAction->setCheckable(true);
    connect(m_differenceAction, &QAction::toggled, this, [this](bool) { applyCompareMode(); });
    view->addSeparator();
    view->addAction(tr("&Reset Zoom"), QKeySequence(tr("Ctrl+0")), m_map, &AttentionMapWidget::resetView);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    // The demo trace ships with the package; a program run from its build folder has none.
    const QString demo = installedDemoTrace(QCoreApplication::applicationDirPath());
    QAction* demoAction = help->addAction(tr("Open &Demo Trace"), this, [this, demo] { openFile(demo); });
    demoAction->setEnabled(!demo.isEmpty());
    help->addAction(tr("&Keys"), this, [this] {
        QMessageBox::information(this, tr("Keys"),
                                 tr("On the map:\n"
                                    "Left / Right: previous / next head\nUp / Down: previous / next layer\n"
                                    "Home / End: first / last head; Ctrl+Home / Ctrl+End: first / last layer\n"
                                    "+ / -: zoom in / out; 0: whole map; Shift+arrows: pan\n"
                                    "Mouse wheel: zoom at the cursor; drag: pan; click: lock / release the cell"));
    });
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(this, tr("About SparseTrace Explorer"),
                           tr("SparseTrace Explorer %1\nBlock-sparse attention traces of long-context language models.\n"
                              "Licence: GPL-3.0-or-later")
                               .arg(QString::fromLatin1(sparsetrace::kVersion)));
    });
}

QStringList MainWindow::recentFiles() const { return QSettings().value("recentFiles").toStringList(); }

bool MainWindow::loading() const { return m_loader->busy(); }

void MainWindow::addRecent(const QString& path)
{
    QStringList files = recentFiles();
    const QString abs = QFileInfo(path).absoluteFilePath();
    files.removeAll(abs);
    files.prepend(abs);
    while (files.size() > kMaxRecent) files.removeLast();
    QSettings().setValue("recentFiles", files);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    if (!m_recentMenu) return;
    m_recentMenu->clear();
    const QStringList files = recentFiles();
    for (const QString& f : files) m_recentMenu->addAction(f, this, [this, f] { openFile(f); });
    if (!files.isEmpty()) {
        m_recentMenu->addSeparator();
        m_recentMenu->addAction(tr("Clear"), this, [this] {
            QSettings().remove("recentFiles");
            rebuildRecentMenu();
        });
    }
    m_recentMenu->setEnabled(!files.isEmpty());
}

void MainWindow::openFile(const QString& path)
{
    if (!m_runs->confirmReplace()) return;
    m_loader->open(path);
}

void MainWindow::openCompare(const QString& path)
{
    if (!m_trace) {
        showError(tr("Cannot compare"), tr("Open a trace first, then the trace to compare it with."));
        return;
    }
    m_compareLoader->open(path);
}

void MainWindow::onLoaded(TracePtr trace, const QString& path)
{
    showTrace(std::move(trace), path);
}

void MainWindow::showTrace(TracePtr trace, const QString& path)
{
    m_trace = std::move(trace);
    m_path = path;
    m_lastError.clear();
    emit shownTraceChanged(m_trace, m_path);
    if (!path.isEmpty()) addRecent(path);
    closeCompare();
    m_overview->setTrace(m_trace);
    m_text->setTrace(m_trace);
    const auto& info = m_trace->info();
    const auto needle = core::needleTokens(info);
    for (AttentionMapWidget* map : {m_map, m_mapB}) {
        if (needle) map->setNeedleTokens(needle->start, needle->end - 1);
        else map->setNeedleTokens(0, -1);
    }
    m_traceKind = needle ? QStringLiteral("needle")
                  : info.text.find("<think>") != std::string::npos ? QStringLiteral("cot")
                                                                   : QStringLiteral("plain");
    showNeedleSummary();
    m_selection->setShape(m_trace->layers(), m_trace->heads()); // requests the snapshot
    updateTitle();
    if (!path.isEmpty())
        statusBar()->showMessage(tr("%1: %2 layers × %3 heads, %4 tokens").arg(QFileInfo(path).fileName()).arg(info.model.layers)
                                 .arg(info.model.heads).arg(info.promptTokens + info.generatedTokens), 5000);
    applyViewForTrace(); // before traceLoaded, whose handlers may choose another view
    emit traceLoaded(path);
}

void MainWindow::showNeedleSummary()
{
    const std::uint64_t job = ++m_needleJob;
    m_needleLine->clear();
    m_needleLine->hide();
    if (!m_trace || !core::needleTokens(m_trace->info())) return;
    // The sparsity reads every layer's masks: off the GUI thread.
    runInBackground<core::NeedleSummary>(
        this, &m_needleJob, job, [trace = m_trace] { return core::needleSummary(*trace).value_or(core::NeedleSummary{}); },
        [this](std::optional<core::NeedleSummary> s, const QString&) {
            if (!s || s->value.empty()) return;
            const QString colour = s->retrieved == true ? QStringLiteral("#1a7f37") : s->retrieved == false ? QStringLiteral("#b42318")
                                                                                                              : QString();
            QString line = QStringLiteral("<span style=\"color:#d81b60\">&#9632;</span> ");
            const QString text = QString::fromStdString(s->line()).toHtmlEscaped();
            line += colour.isEmpty() ? text : QStringLiteral("<span style=\"color:%1\">%2</span>").arg(colour, text);
            m_needleLine->setText(line);
            m_needleLine->setToolTip(tr("The needle's tokens are marked in the text, on the map's key axis and in the overview"));
            m_needleLine->show();
        });
}

QString MainWindow::needleLine() const { return m_needleLine->text(); }

void MainWindow::onCompareLoaded(TracePtr trace, const QString& path)
{
    const auto& a = m_trace->info();
    const auto& b = trace->info();
    if (a.promptTokens != b.promptTokens || a.generatedTokens != b.generatedTokens || a.params.bq != b.params.bq ||
        a.params.bk != b.params.bk || a.model.layers != b.model.layers || a.model.heads != b.model.heads) {
        showError(tr("Cannot compare"),
                  tr("%1 does not trace the same prompt shape (tokens, block sizes, layers and heads must match).").arg(path));
        return;
    }
    if (a.tokens.ids != b.tokens.ids)
        statusBar()->showMessage(tr("Note: the two traces' token ids differ; rows and columns are compared by position."), 8000);
    m_compare = std::move(trace);
    m_comparePath = path;
    m_closeCompareAction->setEnabled(true);
    applyCompareMode();
    requestSnapshots();
    updateTitle();
}

void MainWindow::closeCompare()
{
    m_compare.reset();
    m_snapshotB.reset();
    m_comparePath.clear();
    if (m_closeCompareAction) m_closeCompareAction->setEnabled(false);
    m_map->setCompare(nullptr);
    m_mapB->hide();
    updateTitle();
}

void MainWindow::applyCompareMode()
{
    const bool difference = m_differenceAction && m_differenceAction->isChecked();
    if (!m_compare) {
        m_mapB->hide();
        m_map->setCompare(nullptr);
        return;
    }
    m_mapB->setVisible(!difference);
    m_map->setCompare(difference ? m_snapshotB : nullptr);
    if (!difference && m_snapshotB) {
        m_mapB->setSnapshot(m_snapshotB);
        m_mapB->setView(m_map->view());
    }
}

void MainWindow::requestSnapshots()
{
    if (!m_trace) return;
    m_preparer->request(m_trace, m_selection->layer(), m_selection->head());
    if (m_compare) m_comparePreparer->request(m_compare, m_selection->layer(), m_selection->head());
}

void MainWindow::onSnapshot(SnapshotPtr s)
{
    if (s->trace != m_trace) return; // a snapshot of a trace that has been replaced
    m_map->setSnapshot(s);
    if (m_compare) applyCompareMode();
    updateTitle();
    emit snapshotShown(s->layer, s->head);
}

void MainWindow::onCompareSnapshot(SnapshotPtr s)
{
    if (s->trace != m_compare) return;
    m_snapshotB = std::move(s);
    applyCompareMode();
}

void MainWindow::showError(const QString& title, const QString& message)
{
    m_lastError = message;
    if (!m_errorBox) {
        m_errorBox = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
        m_errorBox->setAttribute(Qt::WA_DeleteOnClose);
    } else {
        m_errorBox->setWindowTitle(title);
        m_errorBox->setText(message);
    }
    m_errorBox->open(); // window-modal, does not block the event loop
}

void MainWindow::exportFigure(const QString& path, QSize size, double dpi)
{
    try {
        MapFigure figure = m_map->figure();
        widgets::exportFigure(figure, {path, size, dpi});
        statusBar()->showMessage(tr("Wrote %1").arg(path), 5000);
    } catch (const std::exception& e) {
        showError(tr("Cannot export the figure"), QString::fromStdString(e.what()));
    }
}

std::optional<MainWindow::ExportChoice> MainWindow::askExport(const QString& title, const QString& suggestedPath)
{
    QSettings settings;
    QDialog dialog(this);
    dialog.setWindowTitle(title);
    auto* form = new QFormLayout(&dialog);
    auto* pathEdit = new QLineEdit(suggestedPath, &dialog);
    auto* browse = new QPushButton(tr("Browse…"), &dialog);
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(pathEdit, 1);
    pathRow->addWidget(browse);
    auto spin = [&](int lo, int hi, int value, const QString& suffix) {
        auto* s = new QSpinBox(&dialog);
        s->setRange(lo, hi);
        s->setValue(value);
        s->setSuffix(suffix);
        return s;
    };
    QSpinBox* width = spin(64, 20000, settings.value("export/width", 1600).toInt(), tr(" px"));
    QSpinBox* height = spin(64, 20000, settings.value("export/height", 1200).toInt(), tr(" px"));
    QSpinBox* dpi = spin(10, 2400, settings.value("export/dpi", 200).toInt(), tr(" dpi"));
    form->addRow(tr("File (.png, .svg, .pdf)"), pathRow);
    form->addRow(tr("Width"), width);
    form->addRow(tr("Height"), height);
    form->addRow(tr("Resolution"), dpi);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, &dialog);
    form->addRow(buttons);
    connect(browse, &QPushButton::clicked, &dialog, [&] {
        const QString p = QFileDialog::getSaveFileName(&dialog, title, pathEdit->text(),
                                                       tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"));
        if (!p.isEmpty()) pathEdit->setText(p);
    });
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    if (dialog.exec() != QDialog::Accepted) return std::nullopt;
    settings.setValue("export/width", width->value());
    settings.setValue("export/height", height->value());
    settings.setValue("export/dpi", dpi->value());
    return ExportChoice{pathEdit->text(), QSize(width->value(), height->value()), static_cast<double>(dpi->value())};
}

void MainWindow::showExportDialog()
{
    if (!m_map->snapshot()) {
        showError(tr("Nothing to export"), tr("Open a trace first."));
        return;
    }
    const auto choice = askExport(tr("Export Figure"), QSettings().value("export/path", QDir::home().filePath("attention.png")).toString());
    if (!choice) return;
    QSettings().setValue("export/path", choice->path);
    exportFigure(choice->path, choice->size, choice->dpi);
}

void MainWindow::setTracePath(const QString& path)
{
    m_path = path;
    addRecent(path);
    emit shownTraceChanged(m_trace, m_path);
    updateTitle();
}

void MainWindow::wireRunController()
{
    for (QWidget* w : m_runs->statusWidgets()) statusBar()->addPermanentWidget(w);
    connect(this, &MainWindow::shownTraceChanged, m_runs, &RunController::setShownTrace);
    connect(m_runs, &RunController::traceMade, this, [this](const TracePtr& trace) { showTrace(trace, QString()); });
    connect(m_runs, &RunController::tracePathChosen, this, &MainWindow::setTracePath);
    connect(m_runs, &RunController::statusMessage, this, [this](const QString& message, int timeoutMs) {
        if (message.isEmpty()) statusBar()->clearMessage();
        else statusBar()->showMessage(message, timeoutMs);
    });
    connect(m_runs, &RunController::errorRaised, this, &MainWindow::showError);
    connect(m_runs, &RunController::sweepFinished, this, [this](const QString& folder) {
        showAnalysisView(QStringLiteral("sweep"));
        sweepView()->openSweep(folder);
    });
    connect(m_runs, &RunController::closeRequested, this, &QWidget::close);
}

void MainWindow::updateTitle()
{
    QString title = QStringLiteral("SparseTrace Explorer");
    if (m_trace) {
        // "[*]" shows as "*" while the window is modified (a trace made here and not saved).
        title = (m_path.isEmpty() ? tr("Untitled trace") : QFileInfo(m_path).fileName()) + QStringLiteral("[*]");
        if (!m_comparePath.isEmpty()) title += QStringLiteral(" vs ") + QFileInfo(m_comparePath).fileName();
        if (auto s = m_map->snapshot()) title += QStringLiteral(" — layer %1, head %2").arg(s->layer).arg(s->head);
        title += QStringLiteral(" — SparseTrace Explorer");
    }
    setWindowTitle(title);
    setWindowModified(m_runs->unsaved());
}

void MainWindow::showEvent(QShowEvent* e)
{
    QMainWindow::showEvent(e);
    if (!m_firstLayout) return;
    m_firstLayout = false;
    // The overview wide enough for its heads, an analysis dock for plots, the map the rest.
    QList<QDockWidget*> docks;
    QList<int> widths;
    bool analysis = false;
    for (auto* d : findChildren<QDockWidget*>()) {
        if (d->objectName() == QLatin1String("overviewDock")) {
            docks << d;
            widths << std::max(220, width() / 6);
        } else if (qobject_cast<AnalysisView*>(d->widget()) && !analysis) {
            analysis = true; // the analysis docks share one place (tabs)
            docks << d;
            widths << std::max(420, width() * 9 / 25);
        }
    }
    resizeDocks(docks, widths, Qt::Horizontal);
    // The text below keeps a few lines; the map takes the height.
    if (auto* text = findChild<QDockWidget*>(QStringLiteral("textDock"))) resizeDocks({text}, {std::max(140, height() / 5)}, Qt::Vertical);
}

void MainWindow::closeEvent(QCloseEvent* e)
{
    if (!m_runs->prepareClose()) {
        e->ignore();
        return;
    }
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
    e->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e)
{
    if (e->mimeData()->hasUrls() && !e->mimeData()->urls().isEmpty() && e->mimeData()->urls().first().isLocalFile())
        e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e)
{
    const auto urls = e->mimeData()->urls();
    if (urls.isEmpty() || !urls.first().isLocalFile()) return;
    openFile(urls.first().toLocalFile());
    e->acceptProposedAction();
}

} // namespace sparsetrace::explorer
