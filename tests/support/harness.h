// A minimal Qt-free test harness for the tests that must build without Qt (label `gpu`, run on
// the GPU machine whose headless build has no Qt, and ThreadSanitizer builds). Qt Test is used
// everywhere else. Prints one line per test and a closing "N passed, N failed, N skipped";
// exits 0 on success, 1 on failure, 77 (CTest SKIP_RETURN_CODE) when every test skipped.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cmath>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

// Not under the sanitizers, whose own handlers report a crash better.
#if __has_include(<execinfo.h>) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#include <csignal>
#include <execinfo.h>
#include <unistd.h>
#define ST_HAVE_BACKTRACE 1
#endif

namespace sparsetrace::test {

struct Skipped {
    std::string why;
};
struct Failed {
    std::string what;
};

struct Registry {
    std::vector<std::pair<std::string, std::function<void()>>> tests;
    static Registry& get()
    {
        static Registry r;
        return r;
    }
};

struct Register {
    Register(const char* name, std::function<void()> fn) { Registry::get().tests.emplace_back(name, std::move(fn)); }
};

[[noreturn]] inline void fail(const std::string& what, const char* file, int line)
{
    std::ostringstream s;
    s << file << ":" << line << ": " << what;
    throw Failed{s.str()};
}

// Skips the current test. With CI=true a skip for a missing ../shared is a failure
// (see skipOrFailForMissingShared in shared_assets.h); a GPU skip fails with REQUIRE_GPU=1.
[[noreturn]] inline void skip(const std::string& why) { throw Skipped{why}; }

#ifdef ST_HAVE_BACKTRACE
// A crash prints the stack (addresses resolve with addr2line or gdb) before the default action,
// so a segfault on the GPU machine, where no debugger may be at hand, still says where.
inline void crashHandler(int sig)
{
    void* frames[64];
    const int n = ::backtrace(frames, 64);
    const char head[] = "\n*** crashed; stack:\n";
    (void)!::write(2, head, sizeof head - 1);
    ::backtrace_symbols_fd(frames, n, 2);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}
#endif

inline int runAll(int argc, char** argv)
{
#ifdef ST_HAVE_BACKTRACE
    std::signal(SIGSEGV, crashHandler);
    std::signal(SIGBUS, crashHandler);
    std::signal(SIGABRT, crashHandler);
#endif
    std::string filter = argc > 1 ? argv[1] : "";
    int passed = 0, failed = 0, skipped = 0;
    for (auto& [name, fn] : Registry::get().tests) {
        if (!filter.empty() && name.find(filter) == std::string::npos) continue;
        std::cout << "RUN    " << name << std::endl;
        try {
            fn();
            ++passed;
            std::cout << "PASS   " << name << std::endl;
        } catch (const Skipped& s) {
            ++skipped;
            std::cout << "SKIP   " << name << ": " << s.why << std::endl;
        } catch (const Failed& f) {
            ++failed;
            std::cout << "FAIL   " << name << ": " << f.what << std::endl;
        } catch (const std::exception& e) {
            ++failed;
            std::cout << "FAIL   " << name << ": unexpected exception: " << e.what() << std::endl;
        }
    }
    std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped" << std::endl;
    if (failed) return 1;
    if (passed == 0 && skipped > 0) return 77;
    return 0;
}

} // namespace sparsetrace::test

#define ST_CONCAT2(a, b) a##b
#define ST_CONCAT(a, b) ST_CONCAT2(a, b)
#define ST_TEST(name)                                                                              \
    static void name();                                                                            \
    static ::sparsetrace::test::Register ST_CONCAT(st_reg_, name)(#name, name);                    \
    static void name()
#define ST_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) ::sparsetrace::test::fail("check failed: " #cond, __FILE__, __LINE__);        \
    } while (0)
#define ST_CHECK_MSG(cond, msg)                                                                    \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::ostringstream st_s;                                                               \
            st_s << "check failed: " #cond ": " << msg;                                            \
            ::sparsetrace::test::fail(st_s.str(), __FILE__, __LINE__);                             \
        }                                                                                          \
    } while (0)
#define ST_CHECK_EQ(a, b)                                                                          \
    do {                                                                                           \
        const auto& st_a = (a);                                                                    \
        const auto& st_b = (b);                                                                    \
        if (!(st_a == st_b)) {                                                                     \
            std::ostringstream st_s;                                                               \
            st_s << #a " == " #b " failed: " << st_a << " vs " << st_b;                            \
            ::sparsetrace::test::fail(st_s.str(), __FILE__, __LINE__);                             \
        }                                                                                          \
    } while (0)
#define ST_CHECK_NEAR(a, b, tol)                                                                   \
    do {                                                                                           \
        const double st_a = (a), st_b = (b);                                                       \
        if (!(std::abs(st_a - st_b) <= (tol))) {                                                   \
            std::ostringstream st_s;                                                               \
            st_s << #a " ~ " #b " failed: " << st_a << " vs " << st_b << " (tol " << (tol) << ")"; \
            ::sparsetrace::test::fail(st_s.str(), __FILE__, __LINE__);                             \
        }                                                                                          \
    } while (0)
// Checks that `expr` throws `Type` whose what() contains `substring`.
#define ST_CHECK_THROWS(expr, Type, substring)                                                     \
    do {                                                                                           \
        bool st_thrown = false;                                                                    \
        try {                                                                                      \
            (void)(expr);                                                                          \
        } catch (const Type& st_e) {                                                               \
            st_thrown = true;                                                                      \
            if (std::string(st_e.what()).find(substring) == std::string::npos)                     \
                ::sparsetrace::test::fail(std::string("message \"") + st_e.what() +                \
                                              "\" lacks \"" + (substring) + "\"",                  \
                                          __FILE__, __LINE__);                                     \
        }                                                                                          \
        if (!st_thrown) ::sparsetrace::test::fail(#expr " did not throw " #Type, __FILE__, __LINE__); \
    } while (0)
#define ST_MAIN()                                                                                  \
    int main(int argc, char** argv) { return ::sparsetrace::test::runAll(argc, argv); }
