// Worker-thread loading and snapshot preparation (see async_jobs.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/widgets/async_jobs.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/trace_file.h"

#include "sparsetrace/widgets/future_delivery.h"

#include <QtConcurrent/QtConcurrentRun>

namespace sparsetrace::widgets {

namespace {
template <class T>
struct Outcome {
    T value;
    QString error;
};

QString describe(const std::exception& e) { return QString::fromStdString(e.what()); }
} // namespace

TraceLoader::TraceLoader(QObject* parent) : QObject(parent) {}

TracePtr TraceLoader::openNow(const QString& path)
{
    if (path.isEmpty()) throw ArgumentError("no trace file was given");
    return core::TraceFile::open(path.toStdString());
}

std::uint64_t TraceLoader::open(const QString& path)
{
    const std::uint64_t job = ++m_job;
    if (m_running++ == 0) emit busyChanged(true);
    auto future = QtConcurrent::run([path]() -> Outcome<TracePtr> {
        try {
            return {openNow(path), {}};
        } catch (const std::exception& e) {
            return {nullptr, describe(e)};
        } catch (...) {
            return {nullptr, QStringLiteral("unknown error while opening the file")};
        }
    });
    deliverWhenFinished(this, std::move(future), [this, job, path](const Outcome<TracePtr>& r) {
        if (--m_running == 0) emit busyChanged(false);
        if (job != m_job) return; // a newer open superseded this one
        if (r.value) emit loaded(r.value, path);
        else emit failed(path, r.error);
    });
    return job;
}

SnapshotPreparer::SnapshotPreparer(QObject* parent) : QObject(parent) {}

std::uint64_t SnapshotPreparer::request(TracePtr trace, int layer, int head)
{
    const std::uint64_t job = ++m_job;
    if (trace.get() != m_validatedTrace) {
        m_validatedTrace = trace.get();
        m_validated.assign(trace ? static_cast<std::size_t>(trace->layers()) : 0, false);
    }
    const bool known = layer >= 0 && static_cast<std::size_t>(layer) < m_validated.size() && m_validated[static_cast<std::size_t>(layer)];
    auto work = [trace, layer, head]() -> Outcome<SnapshotPtr> {
        try {
            return {prepareSnapshot(trace, layer, head), {}};
        } catch (const std::exception& e) {
            return {nullptr, describe(e)};
        } catch (...) {
            return {nullptr, QStringLiteral("unknown error while reading the layer")};
        }
    };
    auto deliver = [this, job, trace, layer](Outcome<SnapshotPtr> r) {
        QMetaObject::invokeMethod(this, [this, job, trace, layer, r = std::move(r)] {
            if (r.value && trace.get() == m_validatedTrace && static_cast<std::size_t>(layer) < m_validated.size())
                m_validated[static_cast<std::size_t>(layer)] = true;
            if (job != m_job) return; // a newer request superseded this one
            if (r.value) emit ready(r.value);
            else emit failed(r.error);
        }, Qt::QueuedConnection);
    };
    if (known) deliver(work());
    else deliverWhenFinished(this, QtConcurrent::run(work), [deliver](Outcome<SnapshotPtr> r) { deliver(std::move(r)); });
    return job;
}

} // namespace sparsetrace::widgets
