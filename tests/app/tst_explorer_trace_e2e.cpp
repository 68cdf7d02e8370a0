// The explorer traces for real, on the CPU with stories260K (../shared): the New Trace dialog,
// driven programmatically, checks the folder and estimates, starts the libtorch engine through
// the Qt facade, and the finished trace opens in the window, exports a PNG and saves to a file
// that reads back; a generated needle prompt carries its needle annotation into the trace; and a
// needle sweep run from its dialog with the bundled demo model opens in the sweep view.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/gpu/trace_engine.h"
#include "main_window.h"
#include "new_trace_dialog.h"
#include "qt_shared.h"
#include "run_controller.h"
#include "sweep_dialog.h"

#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/needle_sweep_view.h"

#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QImage>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <set>

using namespace sparsetrace;
using explorer::MainWindow;
using explorer::NewTraceDialog;
using explorer::RunController;

namespace {

// Small blocks so that the search really selects on a few hundred tokens.
void smallBlocks(NewTraceDialog* d)
{
    d->blockQuerySpin()->setValue(4);
    d->blockKeySpin()->setValue(4);
    d->kSpin()->setValue(2);
    d->sinksSpin()->setValue(4);
    d->windowSpin()->setValue(8);
}

// A sweep of 2 cells (512 tokens, depths 20 and 80, K = 16) with the demo model's block sizes.
void fillSmallSweep(explorer::SweepDialog* d, const QString& model, const QString& out)
{
    d->setModelDir(model);
    d->lengthsEdit()->setText("512");
    d->depthsEdit()->setText("20,80");
    d->ksEdit()->setText("16");
    d->blockQuerySpin()->setValue(16);
    d->blockKeySpin()->setValue(16);
    d->sinksSpin()->setValue(16);
    d->windowSpin()->setValue(32);
    d->tokensSpin()->setValue(8);
    d->outputEdit()->setText(out);
}

// What the dialog showed when Start was clicked (the dialog deletes itself once accepted).
struct Shown {
    bool started = false;
    QString model, estimate, preview;
};

// Clicks Start once the dialog allows it.
Shown startFromDialog(NewTraceDialog* d)
{
    d->examineNow();
    const bool ready = QTest::qWaitFor([d] { return d->canStart(); }, 60000);
    Shown s{ready, d->modelStatus(), d->estimateStatus(), d->promptPreview()};
    if (!ready) qWarning("model: %s\nestimate: %s", qPrintable(s.model), qPrintable(s.estimate));
    else d->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->click();
    return s;
}

const char* kStory = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. "
                     "One day, she saw a big red ball in the park. She wanted to play with it, so she ran to the ball "
                     "and kicked it very hard. The ball went up high into the sky. Lily was happy and laughed. Her mom "
                     "came to the park and saw Lily playing. She said, \"Lily, it is time to go home.\" Lily was sad, but "
                     "she took the ball and went home with her mom. At home, they ate dinner and Lily told her dad "
                     "about the big red ball.";

} // namespace

class TestExplorerTraceE2e : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("SparseTraceTest");
        QApplication::setApplicationName("tst_explorer_trace_e2e");
    }

    void typedPromptRunsOpensExportsAndSaves()
    {
        ST_QREQUIRE_SHARED(shared);
        const QString model = QString::fromStdString((shared / "assets" / "models" / "stories260K").string());
        QTemporaryDir tmp;
        MainWindow w;
        w.runs()->setEngineFactory(gpu::traceEngineFactory());
        const QString savePath = tmp.filePath("story.sptrace");
        w.runs()->setQuestions([](const QString&) { return QMessageBox::Discard; }, [&](const QString&) { return savePath; });
        w.show();

        w.runs()->showNewTraceDialog();
        NewTraceDialog* d = w.runs()->dialog();
        QVERIFY(d);
        d->setModelDir(model);
        d->setPromptText(QString::fromUtf8(kStory));
        smallBlocks(d);
        const Shown shown0 = startFromDialog(d);
        QVERIFY(shown0.started);
        QVERIFY2(shown0.model.contains("LlamaForCausalLM, 5 layers x 8 heads"), qPrintable(shown0.model));
        QVERIFY2(shown0.estimate.contains("tokens: about"), qPrintable(shown0.estimate));

        QSignalSpy finished(w.runs(), &RunController::runFinished);
        QSignalSpy failed(w.runs(), &RunController::runFailed);
        QSignalSpy shown(&w, &MainWindow::snapshotShown);
        QVERIFY2(finished.wait(300000), failed.isEmpty() ? "no outcome" : qPrintable(failed.at(0).at(0).toString()));
        const widgets::TracePtr trace = w.trace();
        QVERIFY(trace);
        const core::TraceInfo& info = trace->info();
        QCOMPARE(info.model.layers, 5);
        QCOMPARE(info.model.heads, 8);
        QCOMPARE(info.params.k, 2);
        QCOMPARE(info.params.bq, 4);
        QVERIFY(info.promptTokens > 100);
        QVERIFY(info.behaviour.has_value()); // the default behaviour check ran
        QCOMPARE(info.provenance.modelName, std::string("stories260K"));
        QVERIFY(core::traceSparsity(*trace).sparsity() > 0.5);
        QVERIFY(w.isWindowModified());

        // It opens: the map shows a head, and exports.
        QVERIFY(shown.count() > 0 || shown.wait(30000));
        QVERIFY(w.map()->snapshot());
        const QString png = tmp.filePath("story.png");
        w.exportFigure(png, QSize(800, 600), 96);
        QImage image(png);
        QVERIFY2(!image.isNull(), qPrintable(w.lastError()));
        QCOMPARE(image.size(), QSize(800, 600));
        std::set<QRgb> colours;
        for (int y = 0; y < image.height(); y += 7)
            for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 20, qPrintable(QString::number(colours.size()))); // a map, not a blank page

        // And saves to a file that reads back the same.
        QSignalSpy saved(w.runs(), &RunController::saved);
        QVERIFY(w.runs()->save());
        QVERIFY(saved.wait(30000));
        QVERIFY(!w.isWindowModified());
        const auto back = core::TraceFile::open(savePath.toStdString());
        QCOMPARE(back->info().promptTokens, info.promptTokens);
        QCOMPARE(back->info().text, info.text);
        for (int l = 0; l < trace->layers(); ++l) {
            const auto a = trace->layer(l), b = back->layer(l);
            QVERIFY(std::equal(a.index.begin(), a.index.end(), b.index.begin(), b.index.end()));
        }
    }

    void sweepFromTheDialogRunsAndOpensACell()
    {
        // Run > Needle Sweep… with the bundled demo retriever on the CPU: the dialog checks the
        // folder and estimates, the sweep runs on the engine, its table opens in the sweep view,
        // the dense model retrieves every needle, and clicking a cell opens that cell's trace.
        const QString model = QStringLiteral(SPARSETRACE_SOURCE_DIR "/resources/demo-model");
        QTemporaryDir out;
        MainWindow w;
        w.runs()->setEngineFactory(gpu::traceEngineFactory());
        w.runs()->setQuestions([](const QString&) { return QMessageBox::Discard; }, [](const QString&) { return QString(); });
        w.show();
        w.runs()->showSweepDialog();
        explorer::SweepDialog* d = w.runs()->sweepDialog();
        QVERIFY(d);
        fillSmallSweep(d, model, out.path());
        d->examineNow();
        QVERIFY2(QTest::qWaitFor([d] { return d->canStart(); }, 60000), qPrintable(d->modelStatus() + "\n" + d->estimateStatus()));
        QVERIFY2(d->gridStatus().contains("2 traced prompts"), qPrintable(d->gridStatus()));
        QVERIFY(d->modelStatus().contains("Qwen2"));
        // A grid that does not parse is explained and blocks Start.
        d->ksEdit()->setText("four");
        d->examineNow();
        QVERIFY(!d->canStart());
        QVERIFY2(!d->gridStatus().contains("traced prompt"), qPrintable(d->gridStatus()));
        d->ksEdit()->setText("16");
        d->examineNow();
        QVERIFY(QTest::qWaitFor([d] { return d->canStart(); }, 60000));
        QSignalSpy done(w.runs(), &RunController::sweepFinished);
        d->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->click();
        QVERIFY(done.wait(300000));
        QCOMPARE(done.first().at(0).toString(), out.path());
        widgets::NeedleSweepView* view = w.sweepView();
        QTRY_VERIFY_WITH_TIMEOUT(view->hasContent(), 10000);
        const core::NiahTable& table = view->table();
        QCOMPARE(table.cells().size(), std::size_t(2));
        for (const auto& c : table.cells()) {
            QVERIFY(c.promptTokens + 8 <= 512);
            QVERIFY2(c.denseRetrieved.value_or(false), c.generated.c_str()); // the demo model retrieves at 512 densely
            QVERIFY(c.sparsity > 0.0);
        }
        QVERIFY(w.lastError().isEmpty());
        // A click on the first cell opens its trace, with the needle annotated.
        view->activateCell(0, 0);
        QTRY_VERIFY_WITH_TIMEOUT(w.trace() && w.tracePath().endsWith("cell-0.sptrace"), 20000);
        QVERIFY(w.trace()->info().annotations.contains("needle"));
        QCOMPARE(w.trace()->info().annotations["needle"]["depth"].get<double>(), 20.0);
        // The dialog again on the same folder: the same sweep would resume, another is refused.
        w.runs()->showSweepDialog();
        d = w.runs()->sweepDialog();
        QVERIFY(d);
        fillSmallSweep(d, model, out.path());
        d->examineNow();
        QVERIFY2(d->gridStatus().contains("2 finished cells of this sweep"), qPrintable(d->gridStatus()));
        d->ksEdit()->setText("4");
        d->examineNow();
        QVERIFY2(d->gridStatus().contains("another sweep"), qPrintable(d->gridStatus()));
        QVERIFY(!QTest::qWaitFor([d] { return d->canStart(); }, 2000));
        d->close();
    }

    void needlePromptCarriesItsAnnotation()
    {
        ST_QREQUIRE_SHARED(shared);
        const QString model = QString::fromStdString((shared / "assets" / "models" / "stories260K").string());
        MainWindow w;
        w.runs()->setEngineFactory(gpu::traceEngineFactory());
        w.runs()->setQuestions([](const QString&) { return QMessageBox::Discard; }, [](const QString&) { return QString(); });
        w.show();
        w.runs()->showNewTraceDialog();
        NewTraceDialog* d = w.runs()->dialog();
        d->setModelDir(model);
        d->setPromptKind(core::PromptSource::Kind::Needle);
        d->needleLengthSpin()->setValue(300);
        d->needleDepthSpin()->setValue(50.0);
        d->checkTokensSpin()->setValue(8);
        smallBlocks(d);
        const Shown shown0 = startFromDialog(d);
        QVERIFY(shown0.started);
        QVERIFY2(shown0.preview.contains("special magic number"), qPrintable(shown0.preview));
        QSignalSpy finished(w.runs(), &RunController::runFinished);
        QVERIFY(finished.wait(300000));
        const core::TraceInfo& info = w.trace()->info();
        QVERIFY(info.promptTokens + 8 <= 300);
        QVERIFY(info.annotations.contains("needle"));
        const auto& needle = info.annotations["needle"];
        QCOMPARE(needle["depth"].get<double>(), 50.0);
        QVERIFY(needle["token_start"].get<std::int64_t>() > 0);
        QVERIFY(needle["token_end"].get<std::int64_t>() > needle["token_start"].get<std::int64_t>());
        QVERIFY(needle["token_end"].get<std::int64_t>() <= info.promptTokens);
        QCOMPARE(info.behaviour->denseTokens.size(), std::size_t(8));
    }
};

QTEST_MAIN(TestExplorerTraceE2e)
#include "tst_explorer_trace_e2e.moc"
