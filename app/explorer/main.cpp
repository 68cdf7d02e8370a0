// sparsetrace-explorer: the desktop explorer of .sptrace files, and its headless figure export.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "headless_export.h"
#include "install_paths.h"
#include "main_window.h"
#include "run_controller.h"
#include "sparsetrace/widgets/needle_sweep_view.h"
#include "sparsetrace/widgets/route_view.h"
#include "sparsetrace/widgets/thought_anchors_view.h"

#include "sparsetrace/core/version.h"
#include "sparsetrace/gpu/trace_engine.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QSettings>
#include <QTimer>

#include <cstdlib>
#include <cstring>
#include <iostream>

namespace {
bool hasDisplay()
{
    return !qEnvironmentVariableIsEmpty("DISPLAY") || !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
}

// Options that never open a window run offscreen when there is no display to connect to.
bool windowless(int argc, char** argv)
{
    for (int i = 1; i < argc; ++i)
        if (!std::strcmp(argv[i], "--export") || !std::strncmp(argv[i], "--export=", 9) || !std::strcmp(argv[i], "--help") ||
            !std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--version") || !std::strcmp(argv[i], "-v"))
            return true;
    return false;
}
} // namespace

int main(int argc, char** argv)
{
    if (windowless(argc, argv) && !hasDisplay() && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QApplication::setOrganizationName("SparseTrace");
    QApplication::setApplicationName("sparsetrace-explorer");
    QApplication::setApplicationVersion(QString::fromLatin1(sparsetrace::kVersion));
    // Matches the installed desktop entry (Wayland uses it to find the window's icon and name).
    QGuiApplication::setDesktopFileName(QStringLiteral("sparsetrace-explorer"));
    QApplication::setWindowIcon(sparsetrace::explorer::applicationIcon(QCoreApplication::applicationDirPath()));

    QCommandLineParser parser;
    parser.setApplicationDescription("Explore block-sparse attention traces (.sptrace).\n"
                                     "Headless figure: sparsetrace-explorer --export OUT.(png|svg|pdf) --layer L --head H TRACE");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption exportOpt("export", "Write a figure of the map (PNG, SVG or PDF by extension) and exit.", "file");
    QCommandLineOption layerOpt("layer", "Layer to export (default 0).", "L", "0");
    QCommandLineOption headOpt("head", "Head to export (default 0).", "H", "0");
    QCommandLineOption widthOpt("width", "Figure width in pixels (default 1600).", "W", "1600");
    QCommandLineOption heightOpt("height", "Figure height in pixels (default 1200).", "H", "1200");
    QCommandLineOption dpiOpt("dpi", "Figure resolution in dots per inch (default 200).", "D", "200");
    QCommandLineOption mapOpt("colormap", "viridis, magma, cividis or diverging (default viridis).", "name", "viridis");
    QCommandLineOption scaleOpt("scale", "linear or log (default linear).", "scale", "linear");
    QCommandLineOption sinksOpt("hide-sinks", "Hide the sink blocks.");
    QCommandLineOption compareOpt("compare", "A second trace of the same prompt: export the difference TRACE - OTHER, "
                                             "or open it side by side.", "other");
    parser.addOptions({exportOpt, layerOpt, headOpt, widthOpt, heightOpt, dpiOpt, mapOpt, scaleOpt, sinksOpt, compareOpt});
    QCommandLineOption viewOpt("view", "Show an analysis view: anchors, sweep or routes.", "name");
    QCommandLineOption sweepOpt("sweep", "Open a needle sweep's output folder (or its niah.json).", "path");
    QCommandLineOption labelsOpt("labels", "Sentence labels (chunks_labeled.json) for the thought anchors.", "file");
    QCommandLineOption tauOpt("tau", "Edge threshold of the route view (default 0.05).", "tau");
    QCommandLineOption routeCompareOpt("route-compare", "A failed trace of the same prompt for the route view.", "trace");
    parser.addOptions({viewOpt, sweepOpt, labelsOpt, tauOpt, routeCompareOpt});
    QCommandLineOption demoOpt("demo", "Open the bundled demo trace (installed in PREFIX/share/sparsetrace/demo) "
                                       "instead of TRACE.");
    parser.addOption(demoOpt);
    parser.addPositionalArgument("trace", "The .sptrace file to open.", "[TRACE]");
    parser.process(app);

    QStringList positional = parser.positionalArguments();
    if (parser.isSet(demoOpt)) {
        const QString demo = sparsetrace::explorer::installedDemoTrace(QCoreApplication::applicationDirPath());
        if (demo.isEmpty()) {
            std::cerr << "sparsetrace-explorer: the demo trace is not installed (no "
                      << sparsetrace::explorer::demoTraceLocation(QCoreApplication::applicationDirPath()).toStdString()
                      << ")\n";
            return 1;
        }
        if (!positional.isEmpty()) {
            std::cerr << "sparsetrace-explorer: give either a trace or --demo, not both\n";
            return 2;
        }
        positional = {demo};
    }
    auto intOption = [&](const QCommandLineOption& o, int& value) {
        bool ok = false;
        value = parser.value(o).toInt(&ok);
        if (!ok) {
            std::cerr << "sparsetrace-explorer: --" << o.names().first().toStdString() << " expects an integer, got \""
                      << parser.value(o).toStdString() << "\"\n";
            std::exit(2);
        }
    };
    if (parser.isSet(exportOpt)) {
        if (positional.size() != 1) {
            std::cerr << "sparsetrace-explorer: --export needs exactly one trace file\n";
            return 2;
        }
        sparsetrace::explorer::HeadlessExport r;
        r.trace = positional.first();
        r.output = parser.value(exportOpt);
        int w = 0, h = 0, dpi = 0;
        intOption(layerOpt, r.layer);
        intOption(headOpt, r.head);
        intOption(widthOpt, w);
        intOption(heightOpt, h);
        intOption(dpiOpt, dpi);
        r.size = QSize(w, h);
        r.dpi = dpi;
        r.colormap = parser.value(mapOpt);
        r.scale = parser.value(scaleOpt);
        r.hideSinks = parser.isSet(sinksOpt);
        r.compare = parser.value(compareOpt);
        return sparsetrace::explorer::runHeadlessExport(r, std::cout, std::cerr);
    }
    if (positional.size() > 1) {
        std::cerr << "sparsetrace-explorer: give at most one trace (use --compare for a second one)\n";
        return 2;
    }

    // First run (no settings written yet) with no trace named: open the bundled demo, so that a
    // new user sees a real trace at once. Help > Open Demo Trace opens it later.
    if (positional.isEmpty() && !QSettings().contains(QStringLiteral("firstRunDone"))) {
        const QString demo = sparsetrace::explorer::installedDemoTrace(QCoreApplication::applicationDirPath());
        if (!demo.isEmpty()) positional = {demo};
    }
    QSettings().setValue(QStringLiteral("firstRunDone"), true);

    sparsetrace::explorer::MainWindow window;
    window.runs()->setEngineFactory(sparsetrace::gpu::traceEngineFactory());
    window.show();
    if (!positional.isEmpty()) {
        const QString path = positional.first();
        const QString other = parser.value(compareOpt);
        if (!other.isEmpty())
            QObject::connect(&window, &sparsetrace::explorer::MainWindow::traceLoaded, &window,
                             [&window, other] { window.openCompare(other); }, Qt::SingleShotConnection);
        QTimer::singleShot(0, &window, [&window, path] { window.openFile(path); });
    }
    if (parser.isSet(viewOpt)) {
        const QString view = parser.value(viewOpt);
        if (!window.showAnalysisView(view)) {
            std::cerr << "sparsetrace-explorer: --view expects anchors, sweep or routes\n";
            return 2;
        }
        // The trace opens on the view of its kind; the one asked for here wins.
        QObject::connect(&window, &sparsetrace::explorer::MainWindow::traceLoaded, &window,
                         [&window, view] { window.showAnalysisView(view); }, Qt::SingleShotConnection);
    }
    if (parser.isSet(tauOpt)) {
        bool ok = false;
        const double tau = parser.value(tauOpt).toDouble(&ok);
        if (!ok || tau < 0 || tau > 1) {
            std::cerr << "sparsetrace-explorer: --tau expects a number in [0, 1]\n";
            return 2;
        }
        window.routeView()->setTau(tau);
    }
    if (parser.isSet(sweepOpt)) window.sweepView()->openSweep(parser.value(sweepOpt));
    // Labels and the compared route apply to the trace once it is open.
    const QString labels = parser.value(labelsOpt), routeCompare = parser.value(routeCompareOpt);
    if (!labels.isEmpty() || !routeCompare.isEmpty())
        QObject::connect(&window, &sparsetrace::explorer::MainWindow::traceLoaded, &window, [&window, labels, routeCompare] {
            if (!labels.isEmpty()) window.anchorsView()->loadLabels(labels);
            if (!routeCompare.isEmpty()) window.routeView()->compareWith(routeCompare);
        }, Qt::SingleShotConnection);
    return app.exec();
}
