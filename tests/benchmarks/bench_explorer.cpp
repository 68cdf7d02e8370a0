// bench_explorer: the explorer's responsiveness on synthetic 28-layer x 12-head traces
// (bq = bk = 32, K = 16) at long contexts, offscreen. Measures, per context length: time from
// starting to open the file to the first painted map (worker-thread load + snapshot + pooling
// + paint), head switch (snapshot + pooling on the map's worker + replot + paint), first view of
// another layer (includes its validation), zoom redraw (pool + colour + replot + paint, until
// the map reports the new view's image painted), and the viewer's peak memory (VmHWM). Each length is
// viewed in a child process so that generating the trace does not count in its memory, twice:
// "map", the attention map widget with its loader and snapshot preparer alone, and "window",
// the whole explorer window (overview, text view, and the thought-anchor and route analyses
// that start on every open, competing for the cores), driven through its layer/head selection.
// Usage: bench_explorer [--tokens 131072,1048576] [--dir DIR] [--keep]
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/widgets/async_jobs.h"
#include "sparsetrace/widgets/attention_map_widget.h"
#include "sparsetrace/widgets/layer_head_selection.h"

#ifdef SPARSETRACE_BENCH_WINDOW
#include "main_window.h"
#endif

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

using namespace sparsetrace;

namespace {
constexpr int kLayers = 28, kHeads = 12;

// A 28 x 12 trace whose layers all view one [12, R, K'] record built from a one-head
// synthetic template (heads differ by a rotation of the masses within each row). Generating
// 336 distinct heads at 1M tokens would take minutes; what is measured does not depend on it.
class ReplicatedTrace final : public core::Trace {
public:
    ReplicatedTrace(const core::OwnedTrace& one)
    {
        m_info = one.info();
        m_info.model.layers = kLayers;
        m_info.model.heads = kHeads;
        const core::LayerView t = one.layer(0);
        const std::int64_t R = t.rows;
        const int KP = t.kPrime;
        m_record.index.resize(static_cast<std::size_t>(kHeads * R * KP));
        m_record.mass.resize(m_record.index.size());
        for (int h = 0; h < kHeads; ++h)
            for (std::int64_t r = 0; r < R; ++r) {
                auto idx = t.indexRow(0, r);
                auto mass = t.massRow(0, r);
                int kept = 0;
                while (kept < KP && idx[kept] >= 0) ++kept;
                const std::size_t base = static_cast<std::size_t>((h * R + r) * KP);
                for (int k = 0; k < KP; ++k) {
                    m_record.index[base + k] = idx[k];
                    m_record.mass[base + k] = k < kept ? mass[(k + h) % kept] : 0.0f;
                }
            }
        m_info.headStats.clear();
        std::vector<float> sparsity(kLayers * kHeads);
        const float s = static_cast<float>(one.info().headStats.at("sparsity")[0]);
        for (std::size_t i = 0; i < sparsity.size(); ++i) sparsity[i] = s;
        m_info.headStats["sparsity"] = sparsity;
    }
    core::LayerView layer(int) const override
    {
        core::LayerView v;
        v.heads = kHeads;
        v.rows = m_info.rows();
        v.kPrime = m_info.kPrime();
        v.index = m_record.index;
        v.mass = m_record.mass;
        return v;
    }

private:
    core::LayerRecord m_record;
};

void writeTrace(std::int64_t tokens, const std::string& path)
{
    core::SyntheticTraceSpec spec;
    spec.layers = 1;
    spec.heads = 1;
    spec.promptTokens = tokens;
    spec.params.bq = spec.params.bk = 32;
    spec.params.k = 16;
    spec.params.sinks = 32;
    spec.params.window = 64;
    spec.planted = {{0, 0, tokens / 32 / 2, static_cast<std::int32_t>(tokens / 32 / 4), 0.9f}};
    auto one = core::makeSyntheticTrace(spec);
    ReplicatedTrace trace(*one);
    one.reset();
    core::writeTraceFile(trace, path);
}

long statusKb(const char* key)
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::string(key).size() + 1));
    return -1;
}

// CPU time of the calling (GUI) thread: what the work costs without the scheduling delays of a
// loaded machine.
double threadCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// CPU time of the whole process (GUI thread and the pooling workers): the work itself.
double processCpuMs()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}
double maxOf(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }

int g_timeouts = 0;

template <class Sender, class Signal>
void waitFor(Sender* sender, Signal signal)
{
    QEventLoop loop;
    QObject::connect(sender, signal, &loop, &QEventLoop::quit);
    QTimer timeout;
    timeout.setSingleShot(true);
    QObject::connect(&timeout, &QTimer::timeout, &loop, [&loop] {
        ++g_timeouts;
        loop.quit();
    });
    timeout.start(10000);
    loop.exec();
}

struct Measured {
    double openLoad = 0, openTotal = 0;
    std::vector<double> headSwitch, layerSwitch, zoom, headCpu, zoomCpu, headProc, zoomProc;
    long rssStart = 0, rssOpen = 0;
};

// Times head switches, first views of layers and zoom steps through `show(l, h)` and `zoomBy`.
template <class Show, class ZoomBy>
void measureViewing(Measured& m, Show show, ZoomBy zoomBy)
{
    QElapsedTimer timer;
    for (int h = 1; h < kHeads; ++h) {
        timer.restart();
        const double c0 = threadCpuMs(), p0 = processCpuMs();
        show(0, h);
        m.headCpu.push_back(threadCpuMs() - c0);
        m.headProc.push_back(processCpuMs() - p0);
        m.headSwitch.push_back(timer.nsecsElapsed() / 1e6);
    }
    for (int l = 1; l <= 4; ++l) {
        timer.restart();
        show(l, 0);
        m.layerSwitch.push_back(timer.nsecsElapsed() / 1e6);
    }
    // Zoom in step by step from the whole map down to a few blocks, then back out.
    for (int i = 0; i < 24; ++i) {
        timer.restart();
        const double c0 = threadCpuMs(), p0 = processCpuMs();
        zoomBy(i < 12 ? 2.0 : 0.5);
        m.zoomCpu.push_back(threadCpuMs() - c0);
        m.zoomProc.push_back(processCpuMs() - p0);
        m.zoom.push_back(timer.nsecsElapsed() / 1e6);
    }
}

int report(const Measured& m, const QString& path)
{
    const long hwm = statusKb("VmHWM:");
    if (g_timeouts > 0) {
        std::cerr << "bench_explorer: " << g_timeouts << " waits for a painted map timed out\n";
        return 1;
    }
    std::printf("RESULT %.1f %.1f %.2f %.2f %.2f %.2f %.2f %.2f %ld %ld %ld %lld %.2f %.2f %.2f %.2f\n", m.openLoad, m.openTotal,
                median(m.headSwitch), maxOf(m.headSwitch), median(m.layerSwitch), maxOf(m.layerSwitch), median(m.zoom), maxOf(m.zoom),
                m.rssStart / 1024, m.rssOpen / 1024, hwm / 1024, static_cast<long long>(QFileInfo(path).size() >> 20),
                median(m.headCpu), median(m.zoomCpu), median(m.headProc), median(m.zoomProc));
    return 0;
}

// Child: view one file in the map widget alone and print one result line.
int view(const QString& path)
{
    using namespace sparsetrace::widgets;
    Measured m;
    m.rssStart = statusKb("VmRSS:");
    AttentionMapWidget map;
    map.resize(1200, 900);
    map.show();
    TraceLoader loader;
    SnapshotPreparer preparer;
    TracePtr trace;
    SnapshotPtr snapshot;
    QString error;
    QObject::connect(&loader, &TraceLoader::loaded, [&](TracePtr t, const QString&) { trace = t; });
    QObject::connect(&loader, &TraceLoader::failed, [&](const QString&, const QString& msg) { error = msg; });
    QObject::connect(&preparer, &SnapshotPreparer::ready, [&](SnapshotPtr s) { snapshot = s; });
    QObject::connect(&preparer, &SnapshotPreparer::failed, [&](const QString& msg) { error = msg; });
    auto show = [&](int l, int h) {
        preparer.request(trace, l, h);
        waitFor(&preparer, &SnapshotPreparer::ready);
        map.setSnapshot(snapshot);
        waitFor(&map, &AttentionMapWidget::rendered);
    };
    QElapsedTimer timer;
    timer.start();
    loader.open(path);
    waitFor(&loader, &TraceLoader::loaded);
    if (!trace) {
        std::cerr << "bench_explorer: " << error.toStdString() << "\n";
        return 1;
    }
    m.openLoad = timer.nsecsElapsed() / 1e6;
    show(0, 0);
    m.openTotal = timer.nsecsElapsed() / 1e6;
    m.rssOpen = statusKb("VmRSS:");
    measureViewing(m, show, [&](double f) {
        map.zoomBy(f);
        waitFor(&map, &AttentionMapWidget::rendered);
    });
    return report(m, path);
}

#ifdef SPARSETRACE_BENCH_WINDOW
// Child: view one file in the whole explorer window and print one result line.
int viewWindow(const QString& path)
{
    using namespace sparsetrace::widgets;
    Measured m;
    m.rssStart = statusKb("VmRSS:");
    sparsetrace::explorer::MainWindow w;
    w.resize(1600, 1000);
    w.show();
    QElapsedTimer timer;
    timer.start();
    w.openFile(path);
    waitFor(&w, &sparsetrace::explorer::MainWindow::traceLoaded);
    if (!w.trace()) {
        std::cerr << "bench_explorer: " << w.lastError().toStdString() << "\n";
        return 1;
    }
    m.openLoad = timer.nsecsElapsed() / 1e6;
    if (!w.map()->imageCurrent() || !w.map()->snapshot()) waitFor(w.map(), &AttentionMapWidget::rendered);
    m.openTotal = timer.nsecsElapsed() / 1e6;
    m.rssOpen = statusKb("VmRSS:");
    // The window repaints the map for other reasons too (highlights follow the selection): wait
    // until the painted image is the one of the selected head.
    auto showing = [&w](int l, int h) {
        const auto s = w.map()->snapshot();
        return s && s->layer == l && s->head == h && w.map()->imageCurrent();
    };
    measureViewing(m, [&](int l, int h) {
        w.selection()->select(l, h);
        for (int i = 0; i < 20 && !showing(l, h); ++i) waitFor(w.map(), &AttentionMapWidget::rendered);
        if (!showing(l, h)) ++g_timeouts;
    }, [&](double f) {
        w.map()->zoomBy(f);
        waitFor(w.map(), &AttentionMapWidget::rendered);
    });
    return report(m, path);
}
#endif
} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QStringList args = app.arguments();
    if (args.size() == 3 && args[1] == "--view") return view(args[2]);
#ifdef SPARSETRACE_BENCH_WINDOW
    if (args.size() == 3 && args[1] == "--view-window") return viewWindow(args[2]);
    const QStringList modes{"map", "window"};
#else
    const QStringList modes{"map"};
#endif

    std::vector<std::int64_t> lengths{131072, 1048576};
    QString dirPath;
    bool keep = false;
    for (int i = 1; i < args.size(); ++i) {
        if (args[i] == "--tokens" && i + 1 < args.size()) {
            lengths.clear();
            for (const QString& s : args[++i].split(',')) lengths.push_back(s.toLongLong());
        } else if (args[i] == "--dir" && i + 1 < args.size()) {
            dirPath = args[++i];
        } else if (args[i] == "--keep") {
            keep = true;
        } else {
            std::cerr << "usage: bench_explorer [--tokens 131072,1048576] [--dir DIR] [--keep]\n";
            return 2;
        }
    }
    QTemporaryDir tmp;
    tmp.setAutoRemove(!keep);
    const QString dir = dirPath.isEmpty() ? tmp.path() : dirPath;

    std::printf("bench_explorer: synthetic %d layers x %d heads, bq = bk = 32, K = 16, map 1200 x 900, offscreen\n", kLayers, kHeads);
    {
        std::ifstream load("/proc/loadavg");
        std::string l1;
        load >> l1;
        std::printf("load average at start: %s on %d cores (wall times include waiting for a core)\n", l1.c_str(),
                    QThread::idealThreadCount());
    }
    std::printf("%9s %7s %7s %8s %9s %8s %8s %8s %8s %9s %9s %8s %8s %8s %8s %9s %9s\n", "T", "viewer", "file", "load", "open->map", "head",
                "head", "head", "head", "layer1st", "layer1st", "zoom", "zoom", "zoom", "zoom", "RSS open", "VmHWM");
    std::printf("%9s %7s %7s %8s %9s %8s %8s %8s %8s %9s %9s %8s %8s %8s %8s %9s %9s\n", "", "", "", "wall", "wall", "med", "max",
                "gui cpu", "all cpu", "med", "max", "med", "max", "gui cpu", "all cpu", "", "");
    for (std::int64_t T : lengths) {
        const QString path = QDir(dir).filePath(QStringLiteral("bench-%1.sptrace").arg(T));
        if (!QFile::exists(path)) {
            QElapsedTimer g;
            g.start();
            writeTrace(T, path.toStdString());
            std::fprintf(stderr, "generated %s in %.1f s\n", qPrintable(path), g.nsecsElapsed() / 1e9);
        }
        for (const QString& mode : modes) {
            QProcess child;
            child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
            child.start(QCoreApplication::applicationFilePath(), {mode == "map" ? "--view" : "--view-window", path});
            child.waitForFinished(-1);
            const QString out = QString::fromUtf8(child.readAllStandardOutput());
            const int at = out.indexOf("RESULT ");
            if (child.exitCode() != 0 || at < 0) {
                std::cerr << "bench_explorer: viewing " << path.toStdString() << " (" << mode.toStdString() << ") failed\n";
                return 1;
            }
            const QStringList v = out.mid(at + 7).trimmed().split(' ');
            std::printf("%9lld %7s %5s M %8s %9s %8s %8s %8s %8s %9s %9s %8s %8s %8s %8s %7s M %7s M\n", static_cast<long long>(T),
                        qPrintable(mode), qPrintable(v[11]), qPrintable(v[0]), qPrintable(v[1]), qPrintable(v[2]), qPrintable(v[3]),
                        qPrintable(v[12]), qPrintable(v[14]), qPrintable(v[4]), qPrintable(v[5]), qPrintable(v[6]), qPrintable(v[7]),
                        qPrintable(v[13]), qPrintable(v[15]), qPrintable(v[9]), qPrintable(v[10]));
        }
        if (dirPath.isEmpty() && !keep) QFile::remove(path);
    }
    std::printf("times in ms: wall clock until the new map is painted, CPU time of the GUI thread (gui cpu) and of the\n"
                "whole process, pooling workers included (all cpu); medians and maxima over 11 head switches,\n"
                "4 first views of a layer (validation included) and 24 zoom steps (x2 in to a few blocks, then out);\n"
                "file in MiB (page cache warm: it was just written); RSS after the first map and peak (VmHWM) in MiB;\n"
                "viewer map: the map widget alone at 1200 x 900; window: the explorer window at 1600 x 1000, whose map\n"
                "gets the room its docks leave\n");
    return 0;
}
