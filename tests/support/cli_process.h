// Runs the `sparsetrace` CLI under test (path in $SPARSETRACE_CLI, set by CTest) and captures
// its exit code and output, for the app-level Qt tests.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

namespace sparsetrace::test {

struct CliResult {
    int code;
    QString out;
    QString err;
};

inline CliResult runCli(const QStringList& args, int timeoutMs = 120000)
{
    QProcess p;
    p.start(qEnvironmentVariable("SPARSETRACE_CLI"), args);
    if (!p.waitForFinished(timeoutMs)) return {-1, {}, "timeout"};
    return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

} // namespace sparsetrace::test
