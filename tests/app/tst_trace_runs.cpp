// Traces made in the explorer, with the engine replaced by a scriptable fake behind the same
// interface: progress reaches the status bar, Cancel gives the cancelled outcome and never an
// error, a second run drops the first's result, an engine exception becomes one message and the
// window stays usable, closing mid-run returns promptly, the New Trace dialog shows the folder,
// the estimate and refusals, and an unsaved trace is saved (readable back) or asked about.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "fake_trace_engine.h"
#include "main_window.h"
#include "new_trace_dialog.h"
#include "run_controller.h"
#include "sweep_dialog.h"
#include "shared_assets.h"

#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/widgets/needle_sweep_view.h"
#include "trace_runner.h"

#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

using namespace sparsetrace;
using explorer::MainWindow;
using explorer::RunController;
using test::FakeEngineScript;
using explorer::TraceRunner;

namespace {

explorer::TraceRunSpec textSpec(const std::string& prompt)
{
    explorer::TraceRunSpec s;
    s.request.modelDir = "/models/fake";
    s.prompt.kind = core::PromptSource::Kind::Text;
    s.prompt.text = prompt;
    return s;
}

// A window whose runs use the fake engine, shown offscreen.
struct Fixture {
    std::shared_ptr<FakeEngineScript> script = std::make_shared<FakeEngineScript>();
    MainWindow window;
    int unsavedQuestions = 0;
    QMessageBox::StandardButton answer = QMessageBox::Cancel;
    QString savePath;

    Fixture()
    {
        window.runs()->setEngineFactory(test::fakeEngineFactory(script));
        window.runs()->setQuestions(
            [this](const QString&) {
                ++unsavedQuestions;
                return answer;
            },
            [this](const QString&) { return savePath; });
        window.show();
    }
    RunController* runs() { return window.runs(); }
    // Starts a run and returns the runner (made by the first start).
    TraceRunner* start(const std::string& prompt)
    {
        runs()->startRun(textSpec(prompt));
        return runs()->runner();
    }
    // Runs to the end; returns the trace shown.
    widgets::TracePtr runToEnd(const std::string& prompt)
    {
        TraceRunner* r = start(prompt);
        QSignalSpy finished(r, &TraceRunner::finished);
        if (!finished.wait(10000)) return nullptr;
        return window.trace();
    }
};

// The runner's four signals, recorded.
struct Outcomes {
    QSignalSpy progress, cancelled, failed, finished;
    explicit Outcomes(TraceRunner* r)
        : progress(r, &TraceRunner::progressChanged), cancelled(r, &TraceRunner::cancelled), failed(r, &TraceRunner::failed),
          finished(r, &TraceRunner::finished)
    {
    }
};

} // namespace

class TestTraceRuns : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QApplication::setOrganizationName("SparseTraceTest");
        QApplication::setApplicationName("tst_trace_runs");
    }

    void progressIsShown()
    {
        Fixture f;
        f.script->layers = 8;
        f.script->perLayer = std::chrono::milliseconds(60); // > the runner's 50 ms throttle
        TraceRunner* r = f.start("Once upon a time");
        QSignalSpy progress(r, &TraceRunner::progressChanged);
        QSignalSpy finished(r, &TraceRunner::finished);
        QVERIFY(r->busy());
        QTRY_VERIFY_WITH_TIMEOUT(f.runs()->progressBar()->isVisible(), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(f.runs()->progressBar()->value() >= 1, 5000);
        QCOMPARE(f.runs()->progressBar()->maximum(), 8);
        QVERIFY(f.runs()->stageLabel()->text().startsWith("sparse pass, layer"));
        QVERIFY(finished.wait(10000));
        // Every layer reported (the runner's 50 ms throttle drops none at 60 ms per layer), in order.
        QCOMPARE(progress.count(), 8);
        int last = 0;
        for (const auto& args : progress) {
            QVERIFY(args.at(0).toInt() > last);
            last = args.at(0).toInt();
            QCOMPARE(args.at(1).toInt(), 8);
        }
        QCOMPARE(last, 8);
        QVERIFY(!r->busy());
        QVERIFY(!f.runs()->progressBar()->isVisible());
        // The result opens in the window, marked unsaved.
        QVERIFY(f.window.trace());
        QCOMPARE(f.window.trace()->layers(), 8);
        QVERIFY(f.window.tracePath().isEmpty());
        QVERIFY(f.runs()->unsaved());
        QVERIFY(f.window.isWindowModified());
        QCOMPARE(QString::fromStdString(f.script->lastPrompt), QStringLiteral("Once upon a time"));
    }

    void cancelGivesCancelledNeverError()
    {
        Fixture f;
        f.script->layers = 100;
        f.script->perLayer = std::chrono::milliseconds(100);
        TraceRunner* r = f.start("a long run");
        Outcomes o(r);
        QVERIFY(o.progress.wait(5000));
        QElapsedTimer t;
        t.start();
        QVERIFY(f.runs()->cancelButton()->isVisible());
        QTest::mouseClick(f.runs()->cancelButton(), Qt::LeftButton);
        QVERIFY(o.cancelled.wait(5000));
        // Within one layer (100 ms) plus delivery; the bound is a behaviour check, not a benchmark.
        QVERIFY2(t.elapsed() < 2000, qPrintable(QString::number(t.elapsed())));
        QTest::qWait(200);
        QCOMPARE(o.cancelled.count(), 1);
        QCOMPARE(o.failed.count(), 0);
        QCOMPARE(o.finished.count(), 0);
        QCOMPARE(f.script->runsStopped.load(), 1);
        QVERIFY(!r->busy());
        QVERIFY(f.window.lastError().isEmpty());
        QVERIFY(!f.window.trace());
        QVERIFY(!f.runs()->progressBar()->isVisible());
    }

    void sweepReportsCellsCancelsAndResumes()
    {
        // A needle sweep on the fake engine, with the bundled demo model's tokenizer building the
        // prompts: progress counts cells, Cancel keeps the finished cells, a second start with
        // the same settings resumes (finished cells are not traced again) and opens the view.
        Fixture f;
        f.script->layers = 4;
        f.script->perLayer = std::chrono::milliseconds(60);
        QTemporaryDir out;
        core::NiahTracedSweep sweep;
        sweep.spec.lengths = {256};
        sweep.spec.depths = {0, 25, 50, 75, 100};
        sweep.spec.ks = {4};
        sweep.spec.tokensToGenerate = 4;
        sweep.base.modelDir = SPARSETRACE_SOURCE_DIR "/resources/demo-model";
        sweep.base.params.bq = sweep.base.params.bk = 16;
        sweep.base.params.sinks = 16;
        sweep.base.params.window = 32;
        sweep.outDir = out.path().toStdString();
        f.runs()->startSweep(sweep);
        TraceRunner* r = f.runs()->runner();
        Outcomes o(r);
        QSignalSpy done(r, &TraceRunner::sweepFinished);
        // Wait until two cells are in the table, then cancel.
        const std::filesystem::path table = sweep.outDir / core::kNiahTableJson;
        QTRY_VERIFY_WITH_TIMEOUT(std::filesystem::exists(table) && core::NiahTable::readJson(table).cells().size() >= 2, 20000);
        QCOMPARE(f.runs()->progressBar()->maximum(), 5);
        QVERIFY2(f.runs()->stageLabel()->text().startsWith("needle sweep"), qPrintable(f.runs()->stageLabel()->text()));
        f.runs()->cancelRun();
        QVERIFY(o.cancelled.wait(5000));
        QCOMPARE(o.failed.count(), 0);
        QCOMPARE(done.count(), 0);
        const std::size_t kept = core::NiahTable::readJson(table).cells().size();
        QVERIFY(kept >= 2 && kept < 5);
        const int completedBefore = f.script->runsCompleted.load();
        QCOMPARE(static_cast<std::size_t>(completedBefore), kept);
        // The same sweep again: only the missing cells run, then the view shows all five.
        f.runs()->startSweep(sweep);
        QVERIFY(done.wait(20000));
        QCOMPARE(done.first().at(1).toInt(), 5);
        QCOMPARE(static_cast<std::size_t>(f.script->runsCompleted.load()), 5 + (static_cast<std::size_t>(completedBefore) - kept));
        QCOMPARE(core::NiahTable::readJson(table).cells().size(), std::size_t(5));
        widgets::NeedleSweepView* view = f.window.sweepView();
        QTRY_VERIFY_WITH_TIMEOUT(view->hasContent(), 5000);
        QCOMPARE(view->table().cells().size(), std::size_t(5));
        QVERIFY(view->isVisible());
        // Every cell kept its trace, which the view opens.
        for (const auto& c : view->table().cells()) QVERIFY(QFileInfo::exists(view->tracePathOf(c)));
        QVERIFY(f.window.lastError().isEmpty());
    }

    void secondRunDropsTheFirst()
    {
        Fixture f;
        f.script->layers = 20;
        f.script->perLayer = std::chrono::milliseconds(50);
        TraceRunner* r = f.start("first");
        Outcomes o(r);
        QVERIFY(o.progress.wait(5000));
        f.runs()->startRun(textSpec("second"));
        QVERIFY(o.finished.wait(10000));
        QTest::qWait(300); // nothing more may arrive
        QCOMPARE(o.finished.count(), 1);
        QCOMPARE(o.cancelled.count(), 0); // the superseded run is dropped, not reported
        QCOMPARE(o.failed.count(), 0);
        QCOMPARE(f.script->runsStopped.load(), 1);
        QCOMPARE(f.script->runsCompleted.load(), 1);
        QCOMPARE(QString::fromStdString(f.script->lastPrompt), QStringLiteral("second"));
        QCOMPARE(o.finished.at(0).at(0).value<widgets::TracePtr>(), f.window.trace());
    }

    void engineExceptionBecomesAMessage()
    {
        Fixture f;
        f.script->throwAtLayer = 2;
        TraceRunner* r = f.start("fails");
        QSignalSpy failed(r, &TraceRunner::failed);
        QSignalSpy cancelled(r, &TraceRunner::cancelled);
        QVERIFY(failed.wait(10000));
        QCOMPARE(failed.at(0).at(0).toString(), QString::fromStdString(f.script->throwMessage));
        QCOMPARE(cancelled.count(), 0);
        QVERIFY(f.window.errorBox());
        QTRY_VERIFY(f.window.errorBox()->isVisible());
        QCOMPARE(f.window.errorBox()->text(), QString::fromStdString(f.script->throwMessage));
        QVERIFY(!r->busy());
        // The application stays usable: the same runner (and engine) completes the next run.
        f.window.errorBox()->close();
        f.script->throwAtLayer = -1;
        QSignalSpy finished(r, &TraceRunner::finished);
        f.runs()->startRun(textSpec("works"));
        QVERIFY(finished.wait(10000));
        QVERIFY(f.window.trace());
    }

    void closingMidRunReturnsPromptly()
    {
        auto f = std::make_unique<Fixture>();
        f->script->layers = 1000;
        f->script->perLayer = std::chrono::milliseconds(100); // 100 s if it were not stopped
        TraceRunner* r = f->start("long");
        QSignalSpy progress(r, &TraceRunner::progressChanged);
        QVERIFY(progress.wait(5000));
        QElapsedTimer t;
        t.start();
        QVERIFY(f->window.close()); // nothing unsaved: no question
        const qint64 closedAfter = t.elapsed();
        QVERIFY2(closedAfter < 2000, qPrintable(QString::number(closedAfter)));
        QCOMPARE(f->unsavedQuestions, 0);
        QCOMPARE(f->script->runsStopped.load(), 1); // joined: the engine has seen the stop
        f.reset();
        QVERIFY2(t.elapsed() < 2000, qPrintable(QString::number(t.elapsed())));
    }

    void unsavedTraceAsksBeforeClosing()
    {
        Fixture f;
        f.script->layers = 2;
        QVERIFY(f.runToEnd("kept"));
        QVERIFY(f.runs()->unsaved());
        f.answer = QMessageBox::Cancel;
        QVERIFY(!f.window.close());
        QCOMPARE(f.unsavedQuestions, 1);
        QVERIFY(f.window.isVisible());
        QVERIFY(f.window.trace());
        f.answer = QMessageBox::Discard;
        QVERIFY(f.window.close());
        QCOMPARE(f.unsavedQuestions, 2);
        QVERIFY(!f.window.isVisible());
    }

    void openingAnotherTraceAsksFirst()
    {
        Fixture f;
        f.script->layers = 2;
        const auto made = f.runToEnd("kept");
        QVERIFY(made);
        f.answer = QMessageBox::Cancel;
        f.window.openFile(QString::fromStdString((test::fixturesDir() / "traces" / "sample-small.sptrace").string()));
        QCOMPARE(f.unsavedQuestions, 1);
        QTest::qWait(300);
        QCOMPARE(f.window.trace(), made); // kept
        QVERIFY(!f.window.loading());
    }

    void saveWritesAFileThatOpensBack()
    {
        QTemporaryDir dir;
        Fixture f;
        f.script->layers = 3;
        const auto made = f.runToEnd("to save");
        QVERIFY(made);
        f.savePath = dir.filePath("made"); // the suffix is added
        QSignalSpy saved(f.runs(), &RunController::saved);
        QVERIFY(f.runs()->save());
        QVERIFY(saved.wait(10000));
        const QString path = dir.filePath("made.sptrace");
        QCOMPARE(saved.at(0).at(0).toString(), path);
        QVERIFY(!f.runs()->unsaved());
        QVERIFY(!f.window.isWindowModified());
        QCOMPARE(f.window.tracePath(), path);
        QVERIFY(f.window.recentFiles().contains(QFileInfo(path).absoluteFilePath()));
        QVERIFY(!f.runs()->save()); // nothing left to save

        const auto back = core::TraceFile::open(path.toStdString());
        QCOMPARE(back->layers(), made->layers());
        QCOMPARE(back->heads(), made->heads());
        QCOMPARE(back->info().promptTokens, made->info().promptTokens);
        QCOMPARE(back->info().text, made->info().text);
        for (int l = 0; l < made->layers(); ++l) {
            const auto a = made->layer(l), b = back->layer(l);
            QVERIFY(std::equal(a.index.begin(), a.index.end(), b.index.begin(), b.index.end()));
            QVERIFY(std::equal(a.mass.begin(), a.mass.end(), b.mass.begin(), b.mass.end()));
        }
        QVERIFY(f.window.close()); // saved: no question
        QCOMPARE(f.unsavedQuestions, 0);
    }

    void saveFromTheCloseQuestionThenCloses()
    {
        QTemporaryDir dir;
        Fixture f;
        f.script->layers = 2;
        QVERIFY(f.runToEnd("save on close"));
        f.answer = QMessageBox::Save;
        f.savePath = dir.filePath("closing.sptrace");
        QVERIFY(!f.window.close()); // the save runs first, then the window closes itself
        QTRY_VERIFY_WITH_TIMEOUT(!f.window.isVisible(), 10000);
        QCOMPARE(f.unsavedQuestions, 1);
        QCOMPARE(core::TraceFile::open(f.savePath.toStdString())->layers(), 2);
    }

    void saveFailureIsAMessageAndKeepsTheTrace()
    {
        Fixture f;
        f.script->layers = 2;
        QVERIFY(f.runToEnd("unsaveable"));
        f.savePath = QStringLiteral("/nonexistent-folder-of-sparsetrace/x.sptrace");
        QSignalSpy failed(f.runs(), &RunController::saveFailed);
        QVERIFY(f.runs()->saveAs());
        QVERIFY(failed.wait(10000));
        QVERIFY(f.window.errorBox());
        QVERIFY2(f.window.errorBox()->text().contains("nonexistent-folder-of-sparsetrace"), qPrintable(f.window.errorBox()->text()));
        QVERIFY(f.runs()->unsaved());
        QVERIFY(f.window.isWindowModified());
    }

    void dialogShowsFolderEstimateAndRefusals()
    {
        Fixture f;
        f.script->withCuda = true;
        f.runs()->showNewTraceDialog();
        explorer::NewTraceDialog* d = f.runs()->dialog();
        QVERIFY(d);
        QSignalSpy shown(d, &explorer::NewTraceDialog::examinationShown);
        d->setModelDir("/models/fake");
        d->setPromptText("Once upon a time");
        d->examineNow();
        QTRY_VERIFY_WITH_TIMEOUT(d->canStart(), 5000);
        QVERIFY2(d->modelStatus().contains("6 layers x 2 heads"), qPrintable(d->modelStatus()));
        QVERIFY2(d->estimateStatus().contains("about 0.1 s"), qPrintable(d->estimateStatus()));
        QCOMPARE(d->promptPreview(), QStringLiteral("Once upon a time"));
        QCOMPARE(d->deviceCombo()->currentData().toString(), QStringLiteral("cuda:0")); // CUDA when there is one
        QCOMPARE(d->spec().request.device, std::string("cuda:0"));
        const core::StreamParams defaults;
        QCOMPARE(d->spec().request.params.k, defaults.k);
        QCOMPARE(d->spec().request.params.window, defaults.window);

        // A run that would not fit is refused with the estimate's numbers.
        {
            std::lock_guard lock(f.script->mutex);
            f.script->estimate.fits = false;
            f.script->estimate.peakBytes = std::int64_t{96} << 30;
            f.script->estimate.availableBytes = std::int64_t{79} << 30;
        }
        shown.clear();
        d->examineNow();
        QVERIFY(shown.wait(5000));
        QVERIFY2(d->estimateStatus().contains("Refused") && d->estimateStatus().contains("96.00 GiB"), qPrintable(d->estimateStatus()));
        QVERIFY(!d->canStart());

        // A folder the engine cannot use: its message, and no Start.
        {
            std::lock_guard lock(f.script->mutex);
            f.script->inspectError = "/models/fake/config.json: cannot open";
        }
        shown.clear();
        d->examineNow();
        QVERIFY(shown.wait(5000));
        QVERIFY2(d->modelStatus().contains("config.json: cannot open"), qPrintable(d->modelStatus()));
        QVERIFY(!d->canStart());
    }

    void dialogStartRunsItsRequest()
    {
        Fixture f;
        f.script->layers = 3;
        f.runs()->showNewTraceDialog();
        explorer::NewTraceDialog* d = f.runs()->dialog();
        d->setModelDir("/models/fake");
        d->setPromptText("From the dialog");
        d->kSpin()->setValue(3);
        d->examineNow();
        QTRY_VERIFY_WITH_TIMEOUT(d->canStart(), 5000);
        d->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->click();
        QSignalSpy finished(f.runs(), &RunController::runFinished);
        QVERIFY(finished.wait(10000));
        QCOMPARE(QString::fromStdString(f.script->lastPrompt), QStringLiteral("From the dialog"));
        QCOMPARE(f.window.trace()->info().params.k, 3);
    }

    void scoreRuleIsPickedPassedAndRemembered()
    {
        QSettings().remove("newTrace/score");
        QSettings().remove("sweep/score");
        const core::ScoreRule defaultRule = core::StreamParams{}.score;
        // A rule other than the default, so that the request and the memory can show it.
        const core::ScoreRule other = defaultRule == core::ScoreRule::Bound ? core::ScoreRule::First : core::ScoreRule::Bound;
        const QString otherName = QString::fromStdString(std::string(core::scoreRuleName(other)));
        Fixture f;
        f.script->layers = 2;
        f.runs()->showNewTraceDialog();
        explorer::NewTraceDialog* d = f.runs()->dialog();
        QCOMPARE(d->scoreCombo()->count(), 3);
        for (const char* rule : {"centre", "first", "bound"}) QVERIFY(d->scoreCombo()->findData(QString::fromLatin1(rule)) >= 0);
        QCOMPARE(d->scoreRule(), defaultRule);
        QCOMPARE(d->spec().request.params.score, defaultRule);
        d->setModelDir("/models/fake");
        d->setPromptText("Scored by another rule");
        d->scoreCombo()->setCurrentIndex(d->scoreCombo()->findData(otherName));
        QVERIFY(!d->canStart()); // a changed rule is a changed request: examined again first
        QCOMPARE(d->spec().request.params.score, other);
        QTRY_VERIFY_WITH_TIMEOUT(d->canStart(), 5000);
        QSignalSpy finished(f.runs(), &RunController::runFinished);
        d->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->click();
        QVERIFY(finished.wait(10000));
        QCOMPARE(f.window.trace()->info().params.score, other);
        // The next dialog starts from the rule last started; the sweep dialog keeps its own.
        f.runs()->showNewTraceDialog();
        QCOMPARE(f.runs()->dialog()->scoreRule(), other);
        f.runs()->dialog()->close();

        f.runs()->showSweepDialog();
        explorer::SweepDialog* s = f.runs()->sweepDialog();
        QVERIFY(s);
        QCOMPARE(s->scoreRule(), defaultRule);
        s->scoreCombo()->setCurrentIndex(s->scoreCombo()->findData(QStringLiteral("first")));
        QCOMPARE(s->sweep().base.params.score, core::ScoreRule::First);
        s->setModelDir("/models/fake"); // no tokenizer: the sweep fails at once, after the dialog closed
        s->accept();
        QCOMPARE(QSettings().value("sweep/score").toString(), QStringLiteral("first"));
        QCOMPARE(QSettings().value("newTrace/score").toString(), otherName);
    }

    void emptyPromptIsExplainedBeforeStart()
    {
        Fixture f;
        f.runs()->showNewTraceDialog();
        explorer::NewTraceDialog* d = f.runs()->dialog();
        QSignalSpy shown(d, &explorer::NewTraceDialog::examinationShown);
        d->setModelDir("/models/fake");
        d->setPromptText("");
        d->examineNow();
        QVERIFY(shown.wait(5000));
        QVERIFY2(d->estimateStatus().contains("the prompt is empty"), qPrintable(d->estimateStatus()));
        QVERIFY(!d->canStart());
    }
};

QTEST_MAIN(TestTraceRuns)
#include "tst_trace_runs.moc"
