// Delivering a worker's result to a QObject's thread, safely when that object dies first.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QFuture>
#include <QFutureWatcher>
#include <QObject>

#include <utility>

namespace sparsetrace::widgets {

// Calls `deliver(result)` on `context`'s thread, always through the event loop (never inside
// this call, even when `future` has already finished), once `future` finishes. Destroying
// `context` first drops the result: the watcher is its child and dies with it.
//
// Qt 6.4's QFuture::then(context, f) is not used for this: its continuation asserts that the
// context is still alive when the worker finishes, so closing a view during a render aborts
// debug and sanitizer builds.
template <class T, class Deliver>
void deliverWhenFinished(QObject* context, QFuture<T> future, Deliver deliver)
{
    auto* watcher = new QFutureWatcher<T>(context);
    QObject::connect(watcher, &QFutureWatcherBase::finished, watcher,
                     [watcher, deliver = std::move(deliver)]() mutable {
                         watcher->deleteLater();
                         deliver(watcher->result());
                     });
    watcher->setFuture(std::move(future));
}

} // namespace sparsetrace::widgets
