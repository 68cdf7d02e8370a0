// The needle-sweep view (see needle_sweep_view.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/needle_sweep_view.h"

#include "sparsetrace/core/error.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace sparsetrace::widgets {

core::NiahTable readSweepTable(const QString& path, QString* folder)
{
    const QFileInfo fi(path);
    const QString json = fi.isDir() ? QDir(path).filePath(QString::fromLatin1(core::kNiahTableJson)) : path;
    if (fi.isDir() && !QFileInfo::exists(json))
        throw IoError(path.toStdString() + ": not a sweep output folder (it has no " + core::kNiahTableJson + ")");
    core::NiahTable table = core::NiahTable::readJson(json.toStdString());
    if (folder) *folder = QFileInfo(json).absolutePath();
    return table;
}

NeedleSweepView::NeedleSweepView(QWidget* parent)
    : AnalysisView(parent), m_status(new QLabel(this)), m_kSelector(new QComboBox(this)), m_plot(new QCustomPlot(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    auto* bar = new QHBoxLayout;
    auto* open = new QPushButton(tr("Open Sweep…"), this);
    connect(open, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open a needle sweep's table"), m_folder,
                                                          tr("Sweep tables (niah.json *.json);;All files (*)"));
        if (!path.isEmpty()) openSweep(path);
    });
    m_status->setWordWrap(true);
    m_status->setText(tr("Open a sweep's output (its niah.json) to see retrieval over context length and needle depth."));
    bar->addWidget(m_status, 1);
    bar->addWidget(new QLabel(tr("K:"), this));
    bar->addWidget(m_kSelector);
    bar->addWidget(open);
    layout->addLayout(bar);
    layout->addWidget(m_plot, 1);
    // The colour bar lives beside the map's axis rect for the view's lifetime.
    m_scale = new QCPColorScale(m_plot);
    m_plot->plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setGradient(gradientFromColormap(ColormapId::Viridis));
    m_scale->setDataRange(QCPRange(0, 1));
    m_scale->axis()->setLabel(tr("retrieved (1) or missed (0); grey: not run"));
    auto scaleTicks = QSharedPointer<QCPAxisTickerText>::create();
    scaleTicks->addTick(0, tr("missed"));
    scaleTicks->addTick(1, tr("retrieved"));
    m_scale->axis()->setTicker(scaleTicks);
    auto* margins = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_scale->setVisible(false);
    styleAnalysisPlot(m_plot);
    m_kSelector->setEnabled(false);
    connect(m_kSelector, &QComboBox::currentIndexChanged, this, [this](int) { fill(); });
    connect(m_plot, &QCustomPlot::mousePress, this, &NeedleSweepView::onPlotPress);
}

void NeedleSweepView::openSweep(const QString& path)
{
    const std::uint64_t job = ++m_job;
    m_busy = true;
    m_status->setText(tr("Reading %1…").arg(path));
    struct Loaded {
        core::NiahTable table;
        QString folder;
    };
    runInBackground<Loaded>(
        this, &m_job, job,
        [path] {
            Loaded l;
            l.table = readSweepTable(path, &l.folder);
            return l;
        },
        [this, path](std::optional<Loaded> r, const QString& error) {
            m_busy = false;
            if (!r) {
                m_status->setText(tr("Could not read the sweep."));
                emit failed(tr("Cannot open the sweep"), error);
                return;
            }
            setTable(std::move(r->table), r->folder);
            emit sweepLoaded(path);
        });
}

void NeedleSweepView::setTable(core::NiahTable table, const QString& folder)
{
    m_table = std::move(table);
    m_folder = folder;
    m_loaded = true;
    const QSignalBlocker block(m_kSelector);
    m_kSelector->clear();
    for (int k : m_table.spec().ks) m_kSelector->addItem(QString::number(k), k);
    // The largest K first: the sweep's setting closest to dense attention.
    m_kSelector->setCurrentIndex(m_kSelector->count() - 1);
    m_kSelector->setEnabled(m_kSelector->count() > 1);
    fill();
}

int NeedleSweepView::currentK() const { return m_kSelector->currentIndex() >= 0 ? m_kSelector->currentData().toInt() : 0; }

void NeedleSweepView::setK(int k)
{
    const int i = m_kSelector->findData(k);
    if (i >= 0) m_kSelector->setCurrentIndex(i);
}

const core::NiahCellResult* NeedleSweepView::cellAt(int li, int di) const
{
    if (!m_loaded) return nullptr;
    const auto& spec = m_table.spec();
    if (li < 0 || di < 0 || static_cast<std::size_t>(li) >= spec.lengths.size() || static_cast<std::size_t>(di) >= spec.depths.size())
        return nullptr;
    const int k = currentK();
    for (const auto& c : m_table.cells())
        if (c.cell.length == spec.lengths[static_cast<std::size_t>(li)] && c.cell.depth == spec.depths[static_cast<std::size_t>(di)] &&
            c.cell.k == k)
            return &c;
    return nullptr;
}

void NeedleSweepView::fill()
{
    m_plot->clearPlottables();
    m_plot->clearItems();
    m_map = nullptr;
    m_scale->setVisible(m_loaded);
    if (!m_loaded) {
        m_plot->replot();
        return;
    }
    const auto& spec = m_table.spec();
    const int nl = static_cast<int>(spec.lengths.size()), nd = static_cast<int>(spec.depths.size());
    m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_map->data()->setSize(nl, nd);
    // Cell centres at 0 .. n-1; QCustomPlot sizes a lone cell by the range, so give it one unit.
    auto centres = [](int n) { return n > 1 ? QCPRange(0, n - 1) : QCPRange(-0.5, 0.5); };
    m_map->data()->setRange(centres(nl), centres(nd));
    int found = 0, retrieved = 0;
    for (int li = 0; li < nl; ++li)
        for (int di = 0; di < nd; ++di) {
            const core::NiahCellResult* c = cellAt(li, di);
            // 1 retrieved, 0 missed, NaN not run yet (grey).
            m_map->data()->setCell(li, di, c ? (c->retrieved ? 1.0 : 0.0) : std::nan(""));
            found += c ? 1 : 0;
            retrieved += c && c->retrieved ? 1 : 0;
        }
    m_map->setGradient(gradientFromColormap(ColormapId::Viridis));
    m_map->setDataRange(QCPRange(0, 1));
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_map->setColorScale(m_scale);
    m_scale->setDataRange(QCPRange(0, 1));

    auto xt = QSharedPointer<QCPAxisTickerText>::create();
    for (int li = 0; li < nl; ++li) xt->addTick(li, formatTokens(spec.lengths[static_cast<std::size_t>(li)]));
    auto yt = QSharedPointer<QCPAxisTickerText>::create();
    for (int di = 0; di < nd; ++di) yt->addTick(di, QStringLiteral("%1%").arg(spec.depths[static_cast<std::size_t>(di)]));
    m_plot->xAxis->setTicker(xt);
    m_plot->yAxis->setTicker(yt);
    m_plot->xAxis->setLabel(tr("context length (tokens)"));
    m_plot->yAxis->setLabel(tr("needle depth (% of the haystack)"));
    m_plot->xAxis->setRange(-0.5, nl - 0.5);
    m_plot->yAxis->setRange(-0.5, nd - 0.5);
    m_plot->yAxis->setRangeReversed(true); // depth 0% at the top, as in the paper
    // White lines between cells, so that neighbouring cells of one colour stay countable.
    for (int li = 1; li < nl; ++li) {
        auto* line = new QCPItemStraightLine(m_plot);
        line->point1->setCoords(li - 0.5, 0);
        line->point2->setCoords(li - 0.5, 1);
        line->setPen(QPen(Qt::white, 2));
    }
    for (int di = 1; di < nd; ++di) {
        auto* line = new QCPItemStraightLine(m_plot);
        line->point1->setCoords(0, di - 0.5);
        line->point2->setCoords(1, di - 0.5);
        line->setPen(QPen(Qt::white, 2));
    }
    m_plot->replot();
    m_status->setText(tr("%1 · haystack %2 · K = %3: %4 of %5 cells retrieved%6 · click a cell to open its trace")
                          .arg(QString::fromStdString(spec.model), QString::fromStdString(spec.haystack))
                          .arg(currentK())
                          .arg(retrieved)
                          .arg(found)
                          .arg(found < nl * nd ? tr(" (%1 not run yet)").arg(nl * nd - found) : QString()));
}

QColor NeedleSweepView::cellColor(int li, int di) const
{
    if (!m_map) return {};
    const double v = m_map->data()->cell(li, di);
    const QRgb rgb = m_map->gradient().color(v, m_map->dataRange());
    return QColor::fromRgb(rgb);
}

QPointF NeedleSweepView::cellCentre(int li, int di) const
{
    return {m_plot->xAxis->coordToPixel(li), m_plot->yAxis->coordToPixel(di)};
}

QString NeedleSweepView::tracePathOf(const core::NiahCellResult& cell) const
{
    if (cell.tracePath.empty()) return {};
    const QString p = QString::fromStdString(cell.tracePath);
    return QFileInfo(p).isAbsolute() ? p : QDir(m_folder).absoluteFilePath(p);
}

void NeedleSweepView::onPlotPress(QMouseEvent* event)
{
    if (!m_map || event->button() != Qt::LeftButton) return;
    const double x = m_plot->xAxis->pixelToCoord(event->position().x()), y = m_plot->yAxis->pixelToCoord(event->position().y());
    const auto& spec = m_table.spec();
    if (x < -0.5 || y < -0.5 || x >= static_cast<double>(spec.lengths.size()) - 0.5 || y >= static_cast<double>(spec.depths.size()) - 0.5)
        return;
    activateCell(static_cast<int>(std::lround(x)), static_cast<int>(std::lround(y)));
}

void NeedleSweepView::activateCell(int li, int di)
{
    const auto& spec = m_table.spec();
    if (!m_loaded || li < 0 || di < 0 || static_cast<std::size_t>(li) >= spec.lengths.size() ||
        static_cast<std::size_t>(di) >= spec.depths.size())
        return;
    emit cellClicked(spec.lengths[static_cast<std::size_t>(li)], spec.depths[static_cast<std::size_t>(di)], currentK());
    const core::NiahCellResult* c = cellAt(li, di);
    if (!c) {
        emit statusMessage(tr("This cell has not been run yet."));
        return;
    }
    const QString path = tracePathOf(*c);
    if (path.isEmpty()) {
        emit statusMessage(tr("The sweep kept no trace of this cell (run it with --keep-traces)."));
        return;
    }
    if (!QFileInfo::exists(path)) {
        emit failed(tr("Cannot open the cell's trace"), tr("%1 does not exist (was the sweep folder moved?)").arg(path));
        return;
    }
    emit openTraceRequested(path);
}

QString NeedleSweepView::caption() const
{
    if (!m_loaded) return {};
    const auto& spec = m_table.spec();
    int found = 0, retrieved = 0;
    for (const auto& c : m_table.cells())
        if (c.cell.k == currentK()) {
            ++found;
            retrieved += c.retrieved ? 1 : 0;
        }
    return tr("%1 · needle in a haystack (%2 haystack, seed %3, %4 generated tokens) · K = %5 · %6 of %7 cells retrieved")
        .arg(QString::fromStdString(spec.model), QString::fromStdString(spec.haystack))
        .arg(spec.seed)
        .arg(spec.tokensToGenerate)
        .arg(currentK())
        .arg(retrieved)
        .arg(found);
}

void NeedleSweepView::exportView(const ExportRequest& request) const
{
    if (!m_loaded) throw ArgumentError("nothing to export: no sweep is open");
    exportPlots(request, caption(), QStringLiteral("SparseTrace needle sweep"), {m_plot});
}

} // namespace sparsetrace::widgets
