// The analysis views on planted synthetic data: the planted anchor comes first and its click
// emits its tokens and the receiver heads, imported labels replace the rule-based labeller,
// sweep cells take the expected colours and a click opens the cell's trace, the planted route
// is drawn edge for edge, a click selects its layer and head, the failed trace's missing edge
// is critical; every view exports PNG, SVG and PDF with caption and axis labels as text; item
// models pass QAbstractItemModelTester; real chains of thought from ../shared.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "../core/cot_synthetic.h"
#include "../core/route_synthetic.h"
#include "../core/thought_anchors_data.h"
#include "planted_trace.h"
#include "qt_shared.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/sentence_labeller.h"
#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/widgets/needle_sweep_view.h"
#include "sparsetrace/widgets/route_view.h"
#include "sparsetrace/widgets/thought_anchors_view.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QLabel>
#include <QProcess>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QTextEdit>
#include <QtTest>
#include <qcustomplot.h>

#include <cmath>
#include <fstream>

using namespace sparsetrace;
using namespace sparsetrace::widgets;

namespace {

constexpr int kSentences = 20;
constexpr int kAnchor = 3;

// Sentence 3 is attended to by every later sentence in two heads of layers 1 and 2 (the core
// test's planted answer); a sharper decoy sits in layer 0, which receiver heads exclude.
std::shared_ptr<core::OwnedTrace> anchorTrace()
{
    auto spec = test::cotSpec(kSentences, 3, 3);
    test::plantAnchor(spec, 1, 0, kAnchor, kSentences, 0.8f);
    test::plantAnchor(spec, 2, 1, kAnchor, kSentences, 0.8f);
    test::plantAnchor(spec, 0, 2, 7, kSentences, 0.95f);
    return core::makeSyntheticTrace(spec);
}

// Needle in row 2; layer 0 head 0 moves it to row 5, layer 1 head 1 to row 9, layer 2 head 0 to
// the last prompt row 15 (the core route test's chain).
core::SyntheticTraceSpec chainSpec()
{
    auto spec = test::routeSpec();
    spec.planted = {{0, 0, 5, 2, 0.9f}, {1, 1, 9, 5, 0.9f}, {2, 0, 15, 9, 0.9f}};
    return spec;
}
constexpr double kRouteTau = 0.6; // above the uniform mass 1/2 of two-block rows, below the planted 0.9

// Category labels: upright on two lines while at most four categories are present, else turned
// on one line each (two turned lines side by side overlapped their neighbours at dock width).
void checkCategoryLabels(const ThoughtAnchorsView& view, bool expectTurned)
{
    QCPAxis* categories = view.categoryPlot()->xAxis;
    const auto ticker = categories->ticker().dynamicCast<QCPAxisTickerText>();
    QVERIFY(ticker);
    const auto labels = ticker->ticks();
    QCOMPARE(labels.size() > 4, expectTurned);
    QCOMPARE(categories->tickLabelRotation(), expectTurned ? -90.0 : 0.0);
    for (const QString& label : labels) QVERIFY2(!expectTurned || !label.contains('\n'), qPrintable(label));
    QCOMPARE(categories->label(), QStringLiteral("sentence category"));
}

QString readText(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return QString::fromUtf8(f.readAll());
}

// Text of a PDF by pdftotext; null when poppler-utils is missing.
std::optional<QString> pdfText(const QString& pdf)
{
    const QString tool = QStandardPaths::findExecutable("pdftotext");
    if (tool.isEmpty()) return std::nullopt;
    QProcess p;
    p.start(tool, {"-raw", pdf, "-"});
    p.waitForFinished(30000);
    return QString::fromUtf8(p.readAllStandardOutput()).simplified();
}

// Exports a view to PNG, SVG and PDF and checks that the caption and labels are text.
void checkExports(const AnalysisView& view, const QStringList& labels)
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString png = dir.filePath("view.png"), svg = dir.filePath("view.svg"), pdf = dir.filePath("view.pdf");
    view.exportView({png, QSize(1200, 800), 150});
    QImage image(png);
    QCOMPARE(image.size(), QSize(1200, 800));
    view.exportView({svg, QSize(1200, 800), 150});
    view.exportView({pdf, QSize(1200, 800), 150});
    // ST_EXPORT_DIR=folder keeps the files for looking at them.
    if (const QString keep = qEnvironmentVariable("ST_EXPORT_DIR"); !keep.isEmpty())
        for (const QString& f : {png, svg, pdf}) {
            const QString to = QDir(keep).filePath(view.metaObject()->className() + QStringLiteral("-") + QFileInfo(f).fileName());
            QFile::remove(to);
            QFile::copy(f, to);
        }
    const QString svgText = readText(svg);
    const QString caption = view.caption();
    QVERIFY(!caption.isEmpty());
    // The caption's first words (the model name) and every axis label are SVG text elements.
    QVERIFY2(svgText.contains(QStringLiteral("synthetic")), qPrintable(caption));
    for (const QString& label : labels) QVERIFY2(svgText.contains(label), qPrintable(label));
    const auto text = pdfText(pdf);
    if (!text) QSKIP("pdftotext (poppler-utils) is not installed");
    QVERIFY(text->contains(QStringLiteral("synthetic")));
    for (const QString& label : labels) QVERIFY2(text->contains(label), qPrintable(label + " not in " + *text));
}

core::NiahSweepSpec sweepSpec()
{
    core::NiahSweepSpec spec;
    spec.model = "synthetic";
    spec.haystack = "noise";
    spec.lengths = {256, 512};
    spec.depths = {0, 50, 100};
    spec.ks = {4, 8};
    spec.seed = 7;
    return spec;
}

core::NiahTable sweepTable();

// Writes sweepTable() into `dir` and opens it in `view`, shown at 900 x 600.
bool showSweepTable(NeedleSweepView& view, const QTemporaryDir& dir)
{
    sweepTable().writeJson(std::filesystem::path(dir.path().toStdString()) / core::kNiahTableJson);
    view.resize(900, 600);
    view.show();
    QSignalSpy loaded(&view, &NeedleSweepView::sweepLoaded);
    view.openSweep(dir.path());
    return loaded.wait(10000);
}

// K = 4: retrieved where (length index + depth index) is even, cell (1, 2) not run; K = 8: all
// retrieved. Cell (0, 0) of K = 4 kept its trace under traces/.
core::NiahTable sweepTable()
{
    const auto spec = sweepSpec();
    core::NiahTable table(spec);
    for (std::size_t i = 0; i < spec.cellCount(); ++i) {
        core::NiahCellResult r;
        r.cell = core::niahCell(spec, i);
        const std::size_t li = r.cell.length == 256 ? 0 : 1;
        const std::size_t di = r.cell.depth == 0 ? 0 : r.cell.depth == 50 ? 1 : 2;
        if (r.cell.k == 4 && li == 1 && di == 2) continue;
        r.key = "test-key";
        r.value = "1234567";
        r.retrieved = r.cell.k == 8 || (li + di) % 2 == 0;
        if (r.cell.k == 4 && li == 0 && di == 0) r.tracePath = "traces/cell-0.sptrace";
        table.put(r);
    }
    return table;
}

QColor sampled(QCustomPlot* plot, QPointF at)
{
    const QImage img = plot->toPixmap(plot->width(), plot->height(), 1.0).toImage();
    return img.pixelColor(at.toPoint());
}

bool near(QColor a, QColor b, int tolerance = 3)
{
    return std::abs(a.red() - b.red()) <= tolerance && std::abs(a.green() - b.green()) <= tolerance &&
           std::abs(a.blue() - b.blue()) <= tolerance;
}

} // namespace

class TstAnalysisViews : public QObject {
    Q_OBJECT

private slots:
    // --- thought anchors -------------------------------------------------------------------

    void plantedAnchorComesFirst()
    {
        ThoughtAnchorsView view;
        view.resize(1200, 800);
        QAbstractItemModelTester tester(view.anchorModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy ready(&view, &ThoughtAnchorsView::analysisReady);
        view.setTrace(anchorTrace());
        QVERIFY(ready.wait(10000));
        QVERIFY(view.analysis());
        QCOMPARE(view.anchorModel()->rowCount(), kSentences - core::kVerticalMinDistance);
        QCOMPARE(view.anchorModel()->sentenceAt(0), kAnchor);
        QCOMPARE(view.anchorModel()->index(0, AnchorListModel::Rank).data().toInt(), 1);
        QVERIFY(view.anchorModel()->index(0, AnchorListModel::Text).data().toString().startsWith(QStringLiteral("S3 w1")));
        // The labeller in use is named in the view.
        QVERIFY(view.sourceLabel().contains(QStringLiteral("rule-based labeller")));
        QVERIFY(view.findChild<QLabel*>()->text().contains(QStringLiteral("rule-based labeller")));
        // The anchor's background is the top of the gradient, lightened; a weak sentence's differs.
        const QColor top = QColor::fromRgb(Colormap::get(ColormapId::Viridis).map(1.0));
        const QColor expected((top.red() + 255) / 2, (top.green() + 255) / 2, (top.blue() + 255) / 2);
        QCOMPARE(view.sentenceColor(kAnchor), expected);
        const QString plain = view.textView()->toPlainText();
        const qsizetype at = plain.indexOf(QStringLiteral("S3 w1"));
        QVERIFY(at >= 0);
        QTextCursor cursor(view.textView()->document());
        cursor.setPosition(static_cast<int>(at) + 1);
        QCOMPARE(cursor.charFormat().background().color(), expected);
        // Kurtosis plot: the receiver heads are never from layer 0.
        QCustomPlot* k = view.kurtosisPlot();
        QCOMPARE(k->graphCount(), 2);
        const auto receivers = k->graph(1)->data();
        QVERIFY(receivers->size() > 0);
        for (auto it = receivers->constBegin(); it != receivers->constEnd(); ++it) QVERIFY(it->key > 0.5);
        QVERIFY(view.categoryPlot()->plottableCount() >= 2);
        checkCategoryLabels(view, false);
    }

    void clickingAnAnchorEmitsItsTokensAndReceiverHeads()
    {
        ThoughtAnchorsView view;
        view.resize(1200, 800);
        view.show();
        QSignalSpy ready(&view, &ThoughtAnchorsView::analysisReady);
        view.setTrace(anchorTrace());
        QVERIFY(ready.wait(10000));
        QSignalSpy spy(&view, &ThoughtAnchorsView::anchorActivated);
        QTableView* list = view.anchorList();
        const QRect cell = list->visualRect(view.anchorModel()->index(0, AnchorListModel::Text));
        QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, cell.center());
        QCOMPARE(spy.count(), 1);
        const auto args = spy.takeFirst();
        QCOMPARE(args.at(0).toLongLong(), qint64((kAnchor + 1) * test::kCotBlock));
        QCOMPARE(args.at(1).toLongLong(), qint64((kAnchor + 2) * test::kCotBlock - 1));
        const auto heads = args.at(2).value<QList<QPoint>>();
        QVERIFY(heads.contains(QPoint(1, 0)));
        QVERIFY(heads.contains(QPoint(2, 1)));
        for (const QPoint& h : heads) QVERIFY(h.x() > 0);
    }

    void importedLabelsReplaceTheRuleBasedLabeller()
    {
        auto trace = anchorTrace();
        const auto sentences = core::segmentChainOfThought(trace->info().text);
        QTemporaryDir dir;
        nlohmann::json labels = nlohmann::json::array();
        const auto& names = core::sentenceCategories();
        for (std::size_t i = 0; i < sentences.size(); ++i)
            labels.push_back({{"chunk", sentences[i].text}, {"chunk_idx", i}, {"function_tags", {names[i % names.size()]}}});
        const QString path = dir.filePath("chunks_labeled.json");
        std::ofstream(path.toStdString()) << labels.dump();
        ThoughtAnchorsView view;
        QSignalSpy ready(&view, &ThoughtAnchorsView::analysisReady);
        view.setTrace(trace);
        QVERIFY(ready.wait(10000));
        view.loadLabels(path);
        QVERIFY(ready.wait(10000));
        QVERIFY(view.analysis());
        QCOMPARE(view.analysis()->categorySource, std::string("chunks_labeled.json"));
        QVERIFY(!view.sourceLabel().contains(QStringLiteral("rule-based")));
        for (std::size_t i = 0; i < sentences.size(); ++i) QCOMPARE(view.analysis()->categories[i], names[i % names.size()]);
        QCOMPARE(view.analysis()->unlabelled, std::size_t(0));
        checkCategoryLabels(view, true); // every category present: the labels turn
        // Back to the rule-based labeller.
        view.clearLabels();
        QVERIFY(ready.wait(10000));
        QVERIFY(view.sourceLabel().contains(QStringLiteral("rule-based labeller")));
        // A broken label file is one message, and the analysis stays.
        const QString bad = dir.filePath("bad.json");
        std::ofstream(bad.toStdString()) << "{\"not\": \"a list\"";
        QSignalSpy failed(&view, &AnalysisView::failed);
        view.loadLabels(bad);
        QCOMPARE(failed.count(), 1);
        QVERIFY(failed.first().at(1).toString().contains(QStringLiteral("bad.json")));
        QVERIFY(view.analysis());
    }

    void labelsLocateSentencesWithoutThink()
    {
        // A text without <think>: the labels' chunks locate the sentences.
        core::SyntheticTraceSpec spec = test::cotSpec(kSentences, 2, 2);
        spec.tokenTexts[7] = " ";
        auto trace = core::makeSyntheticTrace(spec);
        std::vector<core::ChunkLabel> labels;
        for (int s = 0; s < kSentences; ++s) labels.push_back({"S" + std::to_string(s) + " w1 w2 w3 w4 w5 end.", s, {"plan_generation"}});
        const auto sentences = core::sentencesFromChunks(trace->info().text, labels);
        QCOMPARE(sentences.size(), std::size_t(kSentences));
        const auto text = QString::fromStdString(trace->info().text).toUcs4();
        const auto& third = sentences[3];
        QCOMPARE(QString::fromUcs4(reinterpret_cast<const char32_t*>(text.constData()) + third.chars.start, third.chars.end - third.chars.start),
                 QStringLiteral("S3 w1 w2 w3 w4 w5 end."));
        const auto a = core::analyseThoughtAnchors({{trace, labels, "labels.json", {}}}).traces.front();
        QVERIFY(a.sentencesFromLabels);
        QCOMPARE(a.unlabelled, std::size_t(0));
        // Without labels the same trace has no chain of thought: one clear message, no crash.
        ThoughtAnchorsView view;
        QSignalSpy ready(&view, &ThoughtAnchorsView::analysisReady);
        view.setTrace(trace);
        QVERIFY(ready.wait(10000));
        QVERIFY(!view.analysis());
        QVERIFY(view.findChild<QLabel*>()->text().contains(QStringLiteral("no <think>")));
    }

    void anchorsViewExports()
    {
        ThoughtAnchorsView view;
        view.resize(1200, 800);
        QSignalSpy ready(&view, &ThoughtAnchorsView::analysisReady);
        view.setTrace(anchorTrace());
        QVERIFY(ready.wait(10000));
        checkExports(view, {QStringLiteral("receiver score"), QStringLiteral("kurtosis of vertical scores"), QStringLiteral("layer")});
        QVERIFY(view.caption().contains(QStringLiteral("rule-based labeller")));
        ThoughtAnchorsView empty;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, empty.exportView({QDir::temp().filePath("x.png"), QSize(100, 100), 100}));
    }

    void realChainsOfThoughtTakeTheirLabels()
    {
        ST_QREQUIRE_SHARED(shared);
        const auto root = test::unpackThoughtAnchors(shared);
        if (root.empty()) QFAIL("cannot unpack the Thought Anchors archive (tar --zstd)");
        int chains = 0;
        for (const std::string which : {"correct", "incorrect"}) {
            for (const auto& chain : test::loadChains(root, which)) {
                // The real text as tokens (words with their leading whitespace) over synthetic attention.
                core::SyntheticTraceSpec spec;
                spec.layers = 2;
                spec.heads = 2;
                spec.params.bq = spec.params.bk = 32;
                spec.params.k = 2;
                spec.params.sinks = 32;
                spec.params.window = 64;
                std::size_t start = 0;
                const std::string& text = chain.fullCot;
                for (std::size_t i = 1; i <= text.size(); ++i)
                    if (i == text.size() || (text[i] == ' ' && text[i - 1] != ' ')) {
                        spec.tokenTexts.push_back(text.substr(start, i - start));
                        start = i;
                    }
                spec.promptTokens = static_cast<std::int64_t>(spec.tokenTexts.size());
                TracePtr trace = core::makeSyntheticTrace(spec);
                const auto labels = core::readChunkLabels(chain.folder + "/chunks_labeled.json");
                const auto a = core::analyseThoughtAnchors({{trace, labels, "chunks_labeled.json", {}}}).traces.front();
                QVERIFY2(!a.sentencesFromLabels, chain.folder.c_str());
                QCOMPARE(a.sentences().size(), chain.chunks.size());
                QCOMPARE(a.unlabelled, std::size_t(0));
                QCOMPARE(a.categories, chain.firstTags);
                QVERIFY(!a.ranking.empty());
                ++chains;
            }
        }
        QCOMPARE(chains, 20);
    }

    // --- needle sweeps ---------------------------------------------------------------------

    void sweepCellsTakeTheExpectedColours()
    {
        QTemporaryDir dir;
        NeedleSweepView view;
        QVERIFY(showSweepTable(view, dir));
        QVERIFY(view.hasContent());
        QCOMPARE(view.kSelector()->count(), 2);
        QCOMPARE(view.currentK(), 8); // the largest K first
        view.setK(4);
        QCOMPARE(view.currentK(), 4);
        const auto& table = Colormap::get(ColormapId::Viridis).table();
        const QColor hit = QColor::fromRgb(table[255]), miss = QColor::fromRgb(table[0]), notRun(0xdd, 0xdd, 0xdd);
        for (int li = 0; li < 2; ++li)
            for (int di = 0; di < 3; ++di) {
                const QColor want = (li == 1 && di == 2) ? notRun : (li + di) % 2 == 0 ? hit : miss;
                const QColor got = sampled(view.plot(), view.cellCentre(li, di));
                QVERIFY2(near(got, want), qPrintable(QStringLiteral("cell %1,%2: %3 vs %4").arg(li).arg(di).arg(got.name(), want.name())));
                QVERIFY(near(view.cellColor(li, di), want));
            }
        view.setK(8);
        QCOMPARE(view.currentK(), 8);
        for (int li = 0; li < 2; ++li)
            for (int di = 0; di < 3; ++di) QVERIFY(near(sampled(view.plot(), view.cellCentre(li, di)), hit));
        checkExports(view, {QStringLiteral("context length (tokens)"), QStringLiteral("needle depth")});
    }

    void plotsFollowADarkPaletteAndExportOnWhite()
    {
        QTemporaryDir dir;
        NeedleSweepView view;
        QVERIFY(showSweepTable(view, dir));
        const QColor darkBase(0x20, 0x22, 0x25), lightText(0xe8, 0xe8, 0xe8);
        QPalette dark = view.palette();
        for (auto role : {QPalette::Base, QPalette::Window}) dark.setColor(role, darkBase);
        for (auto role : {QPalette::Text, QPalette::WindowText}) dark.setColor(role, lightText);
        view.setPalette(dark); // as when the system switches to a dark theme
        QCoreApplication::processEvents();
        QCOMPARE(view.plot()->xAxis->tickLabelColor(), lightText);
        QCOMPARE(view.plot()->xAxis->labelColor(), lightText);
        view.plot()->replot();
        const QImage screen = view.plot()->toPixmap(400, 300).toImage();
        QVERIFY2(near(screen.pixelColor(2, 2), darkBase), qPrintable(screen.pixelColor(2, 2).name()));
        // A figure for a paper stays black on white, and the screen keeps its dark colours.
        QTemporaryDir out;
        const QString png = out.filePath("dark.png");
        view.exportView({png, QSize(800, 600), 100});
        const QImage exported(png);
        QVERIFY(near(exported.pixelColor(2, 2), Qt::white));
        QVERIFY(near(exported.pixelColor(exported.width() - 3, exported.height() - 3), Qt::white));
        QCOMPARE(view.plot()->xAxis->tickLabelColor(), lightText);
    }

    void clickingACellOpensItsTrace()
    {
        QTemporaryDir dir;
        sweepTable().writeJson(std::filesystem::path(dir.path().toStdString()) / core::kNiahTableJson);
        QDir(dir.path()).mkpath("traces");
        core::writeTraceFile(*test::makePlantedTrace(256), dir.filePath("traces/cell-0.sptrace").toStdString());
        NeedleSweepView view;
        view.resize(900, 600);
        view.show();
        QSignalSpy loaded(&view, &NeedleSweepView::sweepLoaded);
        view.openSweep(dir.filePath("niah.json"));
        QVERIFY(loaded.wait(10000));
        view.setK(4);
        QSignalSpy open(&view, &NeedleSweepView::openTraceRequested);
        QSignalSpy clicked(&view, &NeedleSweepView::cellClicked);
        QSignalSpy note(&view, &AnalysisView::statusMessage);
        QTest::mouseClick(view.plot(), Qt::LeftButton, {}, view.cellCentre(0, 0).toPoint());
        QCOMPARE(open.count(), 1);
        QCOMPARE(open.first().at(0).toString(), QDir(dir.path()).absoluteFilePath("traces/cell-0.sptrace"));
        QCOMPARE(clicked.first().at(0).toLongLong(), qint64(256));
        QCOMPARE(clicked.first().at(1).toDouble(), 0.0);
        QCOMPARE(clicked.first().at(2).toInt(), 4);
        // A cell without a kept trace says so, and opens nothing.
        QTest::mouseClick(view.plot(), Qt::LeftButton, {}, view.cellCentre(1, 1).toPoint());
        QCOMPARE(open.count(), 1);
        QCOMPARE(clicked.count(), 2);
        QCOMPARE(clicked.last().at(0).toLongLong(), qint64(512));
        QCOMPARE(clicked.last().at(1).toDouble(), 50.0);
        QVERIFY(note.last().at(0).toString().contains(QStringLiteral("--keep-traces")));
    }

    void badSweepFolderIsOneMessage()
    {
        QTemporaryDir dir;
        NeedleSweepView view;
        QSignalSpy failed(&view, &AnalysisView::failed);
        view.openSweep(dir.path());
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.first().at(1).toString().contains(QStringLiteral("niah.json")));
        QVERIFY(!view.hasContent());
        std::ofstream(dir.filePath("niah.json").toStdString()) << "{\"format\": \"something else\"}";
        view.openSweep(dir.path());
        QVERIFY(failed.wait(10000));
        QVERIFY(!view.hasContent());
    }

    // --- routes ----------------------------------------------------------------------------

    void plantedRouteIsDrawnAndClickable()
    {
        RouteView view;
        view.resize(1000, 700);
        view.show();
        QSignalSpy ready(&view, &RouteView::routeReady);
        view.setTau(kRouteTau);
        view.setTrace(test::makeRouteTrace(chainSpec(), 16, 24));
        QVERIFY(ready.wait(10000));
        QVERIFY(view.route());
        std::vector<std::tuple<int, int, std::int64_t, std::int64_t>> drawn;
        for (const auto& d : view.drawnEdges())
            if (d.kind == RouteView::EdgeKind::Route) drawn.emplace_back(d.edge.layer, d.edge.head, d.edge.from, d.edge.to);
        const std::vector<std::tuple<int, int, std::int64_t, std::int64_t>> expected = {{0, 0, 2, 5}, {1, 1, 5, 9}, {2, 0, 9, 15}};
        QCOMPARE(drawn, expected);
        QCOMPARE(view.tauSlider()->value(), 60);
        view.plot()->replot();
        QSignalSpy clicked(&view, &RouteView::edgeClicked);
        for (std::size_t i = 0; i < view.drawnEdges().size(); ++i) {
            const auto& e = view.drawnEdges()[i].edge;
            if (e.residual()) continue;
            QTest::mouseClick(view.plot(), Qt::LeftButton, {}, view.edgeMidpoint(i).toPoint());
            QVERIFY(!clicked.isEmpty());
            QCOMPARE(clicked.last().at(0).toInt(), e.layer);
            QCOMPARE(clicked.last().at(1).toInt(), e.head);
        }
        QCOMPARE(clicked.count(), 3);
        // Far from every edge: nothing.
        QTest::mouseClick(view.plot(), Qt::LeftButton, {}, QPoint(view.plot()->width() - 5, view.plot()->height() / 2));
        QCOMPARE(clicked.count(), 3);
        checkExports(view, {QStringLiteral("residual stream after n layers"), QStringLiteral("token position")});
    }

    void strongestPathsByDefaultAllEdgesOnRequest()
    {
        // The chain (product 0.729) and a weaker way from row 5 to the answer (layer 1 keeps
        // row 5, layer 2 head 1 reads it with 0.7: product 0.63).
        auto spec = chainSpec();
        spec.planted.push_back({2, 1, 15, 5, 0.7f});
        RouteView view;
        view.resize(1000, 700);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QSignalSpy ready(&view, &RouteView::routeReady);
        view.setTau(kRouteTau);
        view.setPathCount(1);
        view.setTrace(test::makeRouteTrace(spec, 16, 24));
        QVERIFY(ready.wait(10000));
        QCOMPARE(view.route()->paths.size(), std::size_t(1));
        auto attention = [&](bool onPathOnly) {
            std::vector<std::tuple<int, int, std::int64_t, std::int64_t>> out;
            for (const auto& d : view.drawnEdges())
                if (!d.edge.residual() && (!onPathOnly || d.path >= 0)) out.emplace_back(d.edge.layer, d.edge.head, d.edge.from, d.edge.to);
            return out;
        };
        using Edges = std::vector<std::tuple<int, int, std::int64_t, std::int64_t>>;
        const Edges chain = {{0, 0, 2, 5}, {1, 1, 5, 9}, {2, 0, 9, 15}};
        QCOMPARE(attention(false), chain); // the strongest path only
        // All edges: the weaker way's edge too, off the path.
        view.allEdgesBox()->setChecked(true);
        QVERIFY(view.showingAllEdges());
        QCOMPARE(attention(true), chain);
        QCOMPARE(attention(false), (Edges{{0, 0, 2, 5}, {1, 1, 5, 9}, {2, 0, 9, 15}, {2, 1, 5, 15}}));
        view.allEdgesBox()->setChecked(false);
        // Two paths: both drawn, the edge both share once.
        view.pathsSpin()->setValue(2);
        QVERIFY(ready.wait(10000));
        QCOMPARE(view.route()->paths.size(), std::size_t(2));
        QCOMPARE(attention(false), (Edges{{0, 0, 2, 5}, {1, 1, 5, 9}, {2, 0, 9, 15}, {2, 1, 5, 15}}));
        for (const auto& d : view.drawnEdges()) QVERIFY(d.path >= 0);
        QVERIFY(view.statusText().contains(QStringLiteral("2 strongest paths")));

        // The legend and head key under the plot, never over it (the layout settled first: the
        // status line above the plot may have changed its height).
        QTest::qWait(50);
        view.plot()->replot();
        QVERIFY(view.plot()->legend->visible());
        QVERIFY(view.plot()->legend->itemCount() >= 3); // heads 0 and 1, and the needle/answer marks
        QVERIFY(!view.plot()->axisRect()->outerRect().intersects(view.plot()->legend->outerRect()));

        // Hovering an edge names its layer, head, query and key spans and mass (hand-worked:
        // row 9 holds tokens 72-79, key block 5 tokens 40-47).
        std::size_t middle = view.drawnEdges().size();
        for (std::size_t i = 0; i < view.drawnEdges().size(); ++i)
            if (view.drawnEdges()[i].edge.layer == 1 && !view.drawnEdges()[i].edge.residual()) middle = i;
        QVERIFY(middle < view.drawnEdges().size());
        QSignalSpy hovered(&view, &RouteView::edgeHovered);
        QTest::mouseMove(view.plot(), view.edgeMidpoint(middle).toPoint());
        QTRY_VERIFY(!hovered.isEmpty());
        QVERIFY2(view.hoverText().startsWith(QStringLiteral("layer 1, head 1: query tokens 72–79 (row 9) ← key tokens 40–47 (block 5), mass 0.900")),
                 qPrintable(view.hoverText()));
        QVERIFY(view.hoverText().contains(QStringLiteral("path 1 of 2")));
        QTest::mouseMove(view.plot(), QPoint(view.plot()->width() - 3, 3)); // off every edge
        QTRY_VERIFY(view.hoverText().isEmpty());
        checkExports(view, {QStringLiteral("residual stream after n layers"), QStringLiteral("head 1")});
    }

    void tauSliderRecomputes()
    {
        RouteView view;
        QSignalSpy ready(&view, &RouteView::routeReady);
        view.setTau(kRouteTau);
        view.setTrace(test::makeRouteTrace(chainSpec(), 16, 24));
        QVERIFY(ready.wait(10000));
        QVERIFY(view.route()->connected());
        view.tauSlider()->setValue(95); // above the planted 0.9: the chain breaks
        QCOMPARE(view.tau(), 0.95);
        QVERIFY(ready.wait(10000));
        QVERIFY(!view.route()->connected());
        QVERIFY(view.drawnEdges().empty());
        QVERIFY2(view.statusText().startsWith(QStringLiteral("No path above tau = 0.95")), qPrintable(view.statusText()));
    }

    void failedTraceShowsTheCriticalEdge()
    {
        auto failedSpec = chainSpec();
        failedSpec.planted.erase(failedSpec.planted.begin() + 1); // layer 1 no longer moves row 5 to row 9
        RouteView view;
        QSignalSpy ready(&view, &RouteView::routeReady);
        view.setTau(kRouteTau);
        view.setTrace(test::makeRouteTrace(chainSpec(), 16, 24));
        QVERIFY(ready.wait(10000));
        view.setCompare(test::makeRouteTrace(failedSpec, 16, 24), QStringLiteral("failed.sptrace"));
        QVERIFY(ready.wait(10000));
        QVERIFY(view.comparison());
        int critical = 0;
        for (const auto& d : view.drawnEdges())
            if (d.kind == RouteView::EdgeKind::Critical) {
                ++critical;
                QCOMPARE(d.edge.layer, 1);
                QCOMPARE(d.edge.head, 1);
                QCOMPARE(d.edge.from, std::int64_t(5));
                QCOMPARE(d.edge.to, std::int64_t(9));
            }
        QCOMPARE(critical, 1);
        QVERIFY(view.caption().contains(QStringLiteral("failed.sptrace")));
        view.setCompare(nullptr);
        QVERIFY(ready.wait(10000));
        QVERIFY(!view.comparison());
    }

    void traceWithoutNeedleIsOneMessage()
    {
        RouteView view;
        QSignalSpy ready(&view, &RouteView::routeReady);
        QSignalSpy note(&view, &AnalysisView::statusMessage);
        // Hidden (another dock is in front): the view says why, the status bar is left alone.
        view.setTrace(test::makePlantedTrace(512));
        QVERIFY(ready.wait(10000));
        QVERIFY(!view.route());
        QVERIFY(view.statusText().contains(QStringLiteral("needle")));
        QVERIFY(note.isEmpty());
        // On screen: one message for the status bar too.
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.setTrace(test::makePlantedTrace(256));
        QVERIFY(ready.wait(10000));
        QCOMPARE(note.count(), 1);
        QVERIFY(note.last().at(0).toString().contains(QStringLiteral("needle")));
        QVERIFY(!view.hasContent());
    }
};

QTEST_MAIN(TstAnalysisViews)
#include "tst_analysis_views.moc"
