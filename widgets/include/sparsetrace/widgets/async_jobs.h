// Work off the GUI thread: opening trace files and preparing map snapshots. Each runs with
// QtConcurrent::run and deliverWhenFinished (future_delivery.h); a job counter drops results
// that a newer request has made stale, and no exception crosses the thread (errors arrive as
// `failed` signals).
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sparsetrace/core/trace.h"
#include "sparsetrace/widgets/map_render.h"

#include <QObject>
#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

namespace sparsetrace::widgets {

using TracePtr = std::shared_ptr<const core::Trace>;
using SnapshotPtr = std::shared_ptr<const MapSnapshot>;

// Opens .sptrace files in a worker thread.
class TraceLoader : public QObject {
    Q_OBJECT
public:
    explicit TraceLoader(QObject* parent = nullptr);
    // Starts loading; a later call makes this one stale. Returns the job number.
    std::uint64_t open(const QString& path);
    bool busy() const { return m_running > 0; }
    // Synchronous open for the headless export; throws sparsetrace::Error.
    static TracePtr openNow(const QString& path);

signals:
    void loaded(sparsetrace::widgets::TracePtr trace, const QString& path);
    void failed(const QString& path, const QString& message);
    void busyChanged(bool busy);

private:
    std::uint64_t m_job = 0;
    int m_running = 0;
};

// Prepares (layer, head) snapshots; only the latest request is delivered, always through the
// event loop. The first view of a layer validates it (a pass over the whole layer: a worker
// thread does it); later heads of a layer cost one pass over one head's rows, O(R K'), which
// the GUI thread does itself rather than pay two thread hops.
class SnapshotPreparer : public QObject {
    Q_OBJECT
public:
    explicit SnapshotPreparer(QObject* parent = nullptr);
    std::uint64_t request(TracePtr trace, int layer, int head);
    std::uint64_t lastJob() const { return m_job; }

signals:
    void ready(sparsetrace::widgets::SnapshotPtr snapshot);
    void failed(const QString& message);

private:
    std::uint64_t m_job = 0;
    const core::Trace* m_validatedTrace = nullptr; // layers of this trace already viewed
    std::vector<bool> m_validated;                // [L]
};

} // namespace sparsetrace::widgets

Q_DECLARE_METATYPE(sparsetrace::widgets::TracePtr)
Q_DECLARE_METATYPE(sparsetrace::widgets::SnapshotPtr)
