// The CPU backend's entry points: validate once (as the reference does, with its messages), then
// run each head whole on one of n threads (head h on thread h % n), so results do not depend on n.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn/cpu/stream_attn_cpu.h"

#include "stream_attn/cpu/head_kernels.h"
#include "stream_attn/cpu/simd_kernels.h"

#include "sparsetrace/core/error.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>
#include <thread>

namespace sparsetrace::gpu::cpu {

namespace {

void require(bool ok, const std::string& what)
{
    if (!ok) throw ArgumentError("Stream-Attn: " + what);
}

// Below this many multiply-adds a call runs on the calling thread: starting threads costs more
// (tens of microseconds each, milliseconds on a busy machine) than they save. Decode steps and the
// bound rule's estimation fall below it at a few thousand tokens.
constexpr double kThreadedWork = 2e7;

// Runs fn(i) for i in [0, count) on min(threads, count) threads (one when `work`, the call's
// multiply-adds, is small); the first exception is rethrown. Each i runs whole on one thread, so
// results do not depend on the thread count.
template <class Fn> void forEachHead(int count, int threads, double work, const Fn& fn)
{
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int n = work < kThreadedWork ? 1 : std::min(threads, count);
    if (n <= 1) {
        for (int i = 0; i < count; ++i)
            fn(i);
        return;
    }
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(n));
    for (int t = 0; t < n; ++t)
        pool.emplace_back([&, t] {
            try {
                for (int i = t; i < count; i += n)
                    fn(i);
            } catch (...) {
                errors[static_cast<std::size_t>(t)] = std::current_exception();
            }
        });
    for (std::thread& th : pool)
        th.join();
    for (const std::exception_ptr& e : errors)
        if (e) std::rethrow_exception(e);
}

// A mask index [H, R, K'] int32: its size, and each row ascending without repeats, inside the keys.
void checkIndex(const core::AttentionInputs& in, const core::StreamParams& p, std::span<const std::int32_t> index)
{
    const std::int64_t R = in.rows(p);
    const int kp = p.kPrime();
    require(index.size() == static_cast<std::size_t>(in.heads * R * kp),
            "mask index must hold [H, R, K'] = [" + std::to_string(in.heads) + ", " + std::to_string(R) + ", " +
                std::to_string(kp) + "] entries");
    const std::int64_t blockCount = keyBlockCount(in, p.bk);
    for (std::size_t at = 0; at < index.size(); at += static_cast<std::size_t>(kp)) {
        std::int32_t last = -1;
        for (int i = 0; i < kp; ++i) {
            const std::int32_t b = index[at + static_cast<std::size_t>(i)];
            if (b < 0) continue;
            require(b < blockCount, "mask index " + std::to_string(b) + " is past the last key block " +
                                        std::to_string(blockCount - 1));
            require(b > last, "mask index rows must be ascending without repeats");
            last = b;
        }
    }
}

// Multiply-adds of the passes, for the choice of threads.
double searchWork(const core::AttentionInputs& in, const core::StreamParams& p)
{
    const double perChild = double(p.bq) * in.headDim * (p.score == core::ScoreRule::Bound ? 1.0 : p.bk);
    const double blocks = std::max(1.0, double(in.keys) / p.bk / p.k);
    return double(in.heads) * double(in.rows(p)) * 2.0 * p.k * perChild * std::max(1.0, std::log2(blocks));
}
double attendWork(const core::AttentionInputs& in, const core::StreamParams& p)
{
    return 2.0 * in.heads * double(in.queries) * p.kPrime() * p.bk * in.headDim;
}
double denseWork(const core::AttentionInputs& in)
{
    return 2.0 * in.heads * double(in.queries) * double(in.keys) * in.headDim;
}

// One envelope table per KV head (bound rule), built on the head threads.
std::vector<EnvelopeTable> envelopeTables(const core::AttentionInputs& in, const core::StreamParams& p, int threads)
{
    std::vector<EnvelopeTable> tables;
    if (p.score != core::ScoreRule::Bound) return tables;
    tables.resize(static_cast<std::size_t>(in.kvHeads));
    forEachHead(in.kvHeads, threads, 2.0 * in.kvHeads * double(in.keys) * in.headDim,
                [&](int kvh) { tables[static_cast<std::size_t>(kvh)] = EnvelopeTable(in, kvh, p.bk); });
    return tables;
}

const EnvelopeTable* tableOf(const std::vector<EnvelopeTable>& tables, const core::AttentionInputs& in, int head)
{
    return tables.empty() ? nullptr : &tables[static_cast<std::size_t>(kvHeadOf(in, head))];
}

// Keys and values of every KV head in the vector kernels' layout, built on the head threads.
std::vector<PackedKv> packedKv(const core::AttentionInputs& in, int threads)
{
    std::vector<PackedKv> kv(static_cast<std::size_t>(in.kvHeads));
    forEachHead(in.kvHeads, threads, 2.0 * in.kvHeads * double(in.keys) * in.headDim,
                [&](int kvh) { kv[static_cast<std::size_t>(kvh)] = PackedKv(in, kvh); });
    return kv;
}

} // namespace

std::vector<std::int32_t> estimateMask(const core::AttentionInputs& in, const core::StreamParams& p, int threads)
{
    in.validate(p);
    const std::int64_t cellsPerHead = in.rows(p) * p.kPrime();
    std::vector<std::int32_t> index(static_cast<std::size_t>(in.heads * cellsPerHead), -1); // [H, R, K'] int32
    const std::vector<EnvelopeTable> tables = envelopeTables(in, p, threads);
    forEachHead(in.heads, threads, searchWork(in, p),
                [&](int h) { searchHead(in, p, h, tableOf(tables, in, h), index.data() + h * cellsPerHead); });
    return index;
}

core::StreamAttnResult attendWithMask(const core::AttentionInputs& in, const core::StreamParams& p,
                                      std::span<const std::int32_t> index, int threads)
{
    in.validate(p);
    checkIndex(in, p, index);
    core::StreamAttnResult res = core::emptyResult(in, p);
    res.index.assign(index.begin(), index.end());
    const std::int64_t cellsPerHead = res.rows * res.kPrime;
    const std::vector<PackedKv> kv = packedKv(in, threads);
    forEachHead(in.heads, threads, attendWork(in, p), [&](int h) {
        attendHead(in, p, h, kv[static_cast<std::size_t>(kvHeadOf(in, h))], res.index.data() + h * cellsPerHead, res.output.data() + h * in.queries * in.headDim,
                   res.mass.data() + h * cellsPerHead);
    });
    return res;
}

core::StreamAttnResult streamAttention(const core::AttentionInputs& in, const core::StreamParams& p, int threads)
{
    in.validate(p);
    core::StreamAttnResult res = core::emptyResult(in, p);
    const std::int64_t cellsPerHead = res.rows * res.kPrime;
    const std::vector<EnvelopeTable> tables = envelopeTables(in, p, threads);
    const std::vector<PackedKv> kv = packedKv(in, threads);
    forEachHead(in.heads, threads, searchWork(in, p) + attendWork(in, p), [&](int h) {
        std::int32_t* index = res.index.data() + h * cellsPerHead;
        searchHead(in, p, h, tableOf(tables, in, h), index);
        attendHead(in, p, h, kv[static_cast<std::size_t>(kvHeadOf(in, h))], index, res.output.data() + h * in.queries * in.headDim,
                   res.mass.data() + h * cellsPerHead);
    });
    return res;
}

core::StreamAttnResult denseAttention(const core::AttentionInputs& in, const core::StreamParams& p, int threads)
{
    in.validate(p);
    core::StreamAttnResult res = core::emptyResult(in, p);
    const std::int64_t cellsPerHead = res.rows * res.kPrime;
    const std::vector<PackedKv> kv = packedKv(in, threads);
    forEachHead(in.heads, threads, denseWork(in), [&](int h) {
        denseHead(in, p, h, kv[static_cast<std::size_t>(kvHeadOf(in, h))], res.output.data() + h * in.queries * in.headDim, res.index.data() + h * cellsPerHead,
                  res.mass.data() + h * cellsPerHead);
    });
    return res;
}

core::FidelityResult measureFidelity(const core::AttentionInputs& in, const core::StreamParams& p,
                                     std::span<const std::int32_t> index, int threads)
{
    in.validate(p);
    checkIndex(in, p, index);
    const std::int64_t R = in.rows(p);
    const std::int64_t cellsPerHead = R * p.kPrime();
    core::FidelityResult f;
    f.captured.assign(static_cast<std::size_t>(in.heads * R), 0.0f);
    f.oracleIndex.assign(index.size(), -1);
    f.oracleMass.assign(index.size(), 0.0f);
    const std::vector<PackedKv> kv = packedKv(in, threads);
    forEachHead(in.heads, threads, denseWork(in), [&](int h) {
        fidelityHead(in, p, h, kv[static_cast<std::size_t>(kvHeadOf(in, h))], index.data() + h * cellsPerHead, f.captured.data() + h * R,
                     f.oracleIndex.data() + h * cellsPerHead, f.oracleMass.data() + h * cellsPerHead);
    });
    return f;
}

std::vector<float> exactAttention(const core::AttentionInputs& in, int threads)
{
    in.validate(core::StreamParams{}); // the default blocks: only the inputs' own sizes are checked
    std::vector<float> out(static_cast<std::size_t>(in.heads * in.queries * in.headDim)); // [H, Tq, D] float32
    const std::vector<PackedKv> kv = packedKv(in, threads);
    forEachHead(in.heads, threads, denseWork(in), [&](int h) {
        exactHead(in, h, kv[static_cast<std::size_t>(kvHeadOf(in, h))], out.data() + h * in.queries * in.headDim);
    });
    return out;
}

const char* simdName() { return simdKernels().name; }

} // namespace sparsetrace::gpu::cpu
