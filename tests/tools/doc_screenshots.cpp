// doc_screenshots: pictures for the user guide of what the window screenshots do not show: the
// New Trace and Needle Sweep dialogs filled in for the bundled demo model (with the engine's real
// folder check and estimate), the Export Figure dialog, and the attention map of a fidelity trace
// with captured mass and the oracle-only outlines on. Writes OUT/guide-{new-trace,sweep-dialog,
// export-dialog,fidelity}.png. Run by scripts/docs/screenshot-dialogs.sh (offscreen, no display).
// Usage: doc_screenshots [OUT_DIR] [SOURCE_DIR]
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/gpu/trace_engine.h"
#include "main_window.h"
#include "new_trace_dialog.h"
#include "run_controller.h"
#include "sweep_dialog.h"

#include "sparsetrace/widgets/analysis_view.h"
#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/layer_head_selection.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QSpinBox>
#include <QDoubleSpinBox>
#include <QStandardPaths>
#include <QThread>
#include <QTimer>

#include <cstdio>
#include <functional>

using namespace sparsetrace;

namespace {

// Runs the event loop until `done` or `ms` pass; false on timeout.
bool waitFor(const std::function<bool()>& done, int ms)
{
    QElapsedTimer t;
    t.start();
    while (!done()) {
        if (t.elapsed() > ms) return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(5);
    }
    return true;
}

bool save(QWidget* w, const QString& path)
{
    waitFor([] { return false; }, 300); // let layouts and replots settle
    const bool ok = w->grab().save(path);
    std::printf("%s %s\n", ok ? "wrote" : "could not write", qPrintable(path));
    return ok;
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true); // the user's settings are neither read nor changed
    QApplication::setOrganizationName("SparseTraceDocs");
    QApplication::setApplicationName("doc_screenshots");
    const QString out = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral("docs/images");
    const QDir root(argc > 2 ? QString::fromLocal8Bit(argv[2]) : QStringLiteral(SPARSETRACE_SOURCE_DIR));
    const QString model = root.filePath("resources/demo-model-16k");
    QDir().mkpath(out);
    int failures = 0;

    explorer::MainWindow w;
    w.resize(1400, 900);
    w.runs()->setEngineFactory(gpu::traceEngineFactory());
    w.show();

    // 1. New Trace, a generated needle prompt for the demo model.
    w.runs()->showNewTraceDialog();
    explorer::NewTraceDialog* nt = w.runs()->dialog();
    nt->setModelDir(model);
    nt->setPromptKind(core::PromptSource::Kind::Needle);
    nt->needleLengthSpin()->setValue(1024);
    nt->needleDepthSpin()->setValue(45.0);
    nt->blockQuerySpin()->setValue(16);
    nt->blockKeySpin()->setValue(16);
    nt->sinksSpin()->setValue(16);
    nt->windowSpin()->setValue(32);
    nt->checkTokensSpin()->setValue(8);
    nt->examineNow();
    if (!waitFor([nt] { return nt->canStart(); }, 60000)) {
        std::fprintf(stderr, "doc_screenshots: New Trace did not become ready: %s\n", qPrintable(nt->estimateStatus()));
        ++failures;
    }
    failures += save(nt, out + "/guide-new-trace.png") ? 0 : 1;
    nt->close();

    // 2. Needle Sweep for the demo model.
    w.runs()->showSweepDialog();
    explorer::SweepDialog* sd = w.runs()->sweepDialog();
    sd->setModelDir(model);
    sd->lengthsEdit()->setText("1k,2k,4k");
    sd->depthsEdit()->setText("0:100:25");
    sd->ksEdit()->setText("4,16,64");
    sd->blockQuerySpin()->setValue(16);
    sd->blockKeySpin()->setValue(16);
    sd->sinksSpin()->setValue(16);
    sd->windowSpin()->setValue(32);
    sd->outputEdit()->setText(QDir::home().filePath("sweeps/demo-1k-4k"));
    sd->examineNow();
    if (!waitFor([sd] { return sd->canStart(); }, 60000)) {
        std::fprintf(stderr, "doc_screenshots: Needle Sweep did not become ready: %s\n", qPrintable(sd->estimateStatus()));
        ++failures;
    }
    failures += save(sd, out + "/guide-sweep-dialog.png") ? 0 : 1;
    sd->close();

    // 3. A fidelity trace: captured mass and the blocks only the oracle kept, on the retrieval head.
    w.openFile(root.filePath("resources/demo/war-and-peace.sptrace"));
    if (!waitFor([&w] { return w.trace() && !w.loading(); }, 30000) || w.trace()->layer(1).captured.empty()) {
        std::fprintf(stderr, "doc_screenshots: the demo fidelity trace did not open: %s\n", qPrintable(w.lastError()));
        return 1;
    }
    for (QDockWidget* dock : w.findChildren<QDockWidget*>())
        if (qobject_cast<widgets::AnalysisView*>(dock->widget())) dock->hide(); // the map gets the room
    w.selection()->select(1, 3);
    w.map()->setShowCaptured(true);
    w.map()->setOracleOutlines(true);
    waitFor([&w] { return w.map()->imageCurrent(); }, 10000);
    failures += save(&w, out + "/guide-fidelity.png") ? 0 : 1;

    // 4. File > Export Figure… (a modal dialog: grabbed and closed from the event loop).
    QTimer::singleShot(800, [&] {
        QWidget* d = QApplication::activeModalWidget();
        if (!d) {
            ++failures;
            return;
        }
        failures += save(d, out + "/guide-export-dialog.png") ? 0 : 1;
        d->close();
    });
    for (QAction* a : w.findChildren<QAction*>())
        if (a->text() == QStringLiteral("&Export Figure…")) a->trigger(); // returns when the dialog closes
    return failures == 0 ? 0 : 1;
}
