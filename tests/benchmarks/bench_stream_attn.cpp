// bench_stream_attn: Stream-Attn on the GPU for one layer (envelope table, mask search,
// block-sparse attention with masses) without libtorch, against the CPU reference
// (core/stream_attn.h). Checks correctness on fresh random bf16 inputs with poisoned outputs,
// then times each length and prints one table; the same for the block-mass pass (fidelity and
// dense-layer records: tensor cores against the SIMT kernel and the CPU reference). Built on the
// Debian machine (cudart linked statically) and carried to the GPU machine as a binary.
//   bench_stream_attn [--check 4096,32768] [--time 8192,32768,131072] [--heads 12] [--kv-heads 2]
//                     [--dim 128] [--bq 16] [--bk 16] [--k 16] [--score bound] [--repeat 5]
//                     [--mask-dir DIR] (writes mask-<T>.bin/.json for scripts/bench/bench-flash-baseline.py)
//                     [--simt-mass-max 32768] (longest T at which the O(T^2) SIMT block-mass kernel is timed)
// SPDX-License-Identifier: GPL-3.0-or-later
#include "stream_attn.cuh"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/stream_attn.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace sparsetrace;

namespace {

void check(cudaError_t e, const char* what)
{
    if (e != cudaSuccess) throw BackendError(std::string("bench: ") + what + ": " + cudaGetErrorString(e));
}

std::uint16_t toBf16(float x) // round to nearest even (inputs are finite)
{
    std::uint32_t u;
    std::memcpy(&u, &x, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<std::uint16_t>(u >> 16);
}

float fromBf16(std::uint16_t b)
{
    const std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
    float x;
    std::memcpy(&x, &u, 4);
    return x;
}

struct Options {
    std::vector<std::int64_t> checkLengths{4096, 32768};
    std::vector<std::int64_t> timeLengths{8192, 32768, 131072};
    int heads = 12, kvHeads = 2, dim = 128, repeat = 5;
    std::int64_t simtMassMax = 32768;
    core::StreamParams params;
    std::string maskDir;
};

std::vector<std::int64_t> lengthList(const std::string& s)
{
    std::vector<std::int64_t> v;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) v.push_back(std::stoll(item));
    return v;
}

Options parse(int argc, char** argv)
{
    Options o;
    o.params.bq = o.params.bk = 16;
    o.params.k = 16;
    o.params.sinks = 16;
    o.params.window = 16;
    o.params.score = core::ScoreRule::Bound;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--check") o.checkLengths = lengthList(v);
        else if (a == "--time") o.timeLengths = lengthList(v);
        else if (a == "--heads") o.heads = std::stoi(v);
        else if (a == "--kv-heads") o.kvHeads = std::stoi(v);
        else if (a == "--dim") o.dim = std::stoi(v);
        else if (a == "--bq") o.params.bq = std::stoi(v);
        else if (a == "--bk") o.params.bk = o.params.sinks = o.params.window = std::stoi(v);
        else if (a == "--k") o.params.k = std::stoi(v);
        else if (a == "--score") o.params.score = core::scoreRuleFromName(v);
        else if (a == "--repeat") o.repeat = std::stoi(v);
        else if (a == "--mask-dir") o.maskDir = v;
        else if (a == "--simt-mass-max") o.simtMassMax = std::stoll(v);
        else throw ArgumentError("bench_stream_attn: unknown option " + a);
    }
    o.params.validate();
    return o;
}

// Device buffers of one layer at length T (bf16 q, k, v; outputs; workspaces).
struct Layer {
    std::int64_t T = 0, rows = 0;
    int levels = 0, blocks = 0, kPrime = 0;
    std::vector<std::uint16_t> q, k, v; // host bf16: [H, T, D], [Hkv, T, D], [Hkv, T, D]
    void* dq = nullptr;                 // [H, T, D] bf16
    void* dk = nullptr;                 // [Hkv, T, D] bf16
    void* dv = nullptr;                 // [Hkv, T, D] bf16
    void* dout = nullptr;               // [H, T, D] bf16
    std::int32_t* dindex = nullptr;     // [H, R, K'] int32
    float* dmass = nullptr;             // [H, R, K'] float32
    std::int32_t* dints = nullptr;      // [H, R, 9K] int32
    double* dscores = nullptr;          // [H, R, 3K] float64
    void* dlo = nullptr;                // [Hkv, levels, blocks, D] bf16
    void* dhi = nullptr;                // [Hkv, levels, blocks, D] bf16

    Layer(const Options& o, std::int64_t length, std::uint64_t seed) : T(length)
    {
        const core::StreamParams& p = o.params;
        rows = (T + p.bq - 1) / p.bq;
        kPrime = p.kPrime();
        blocks = static_cast<int>((T + p.bk - 1) / p.bk);
        levels = gpu::envelopeLevels(T, p.bk, p.k);
        // Chunks of 2^20 values, each from its own generator (seed, tensor, chunk), filled by
        // all cores: 1M tokens are 1.6e9 query values, about a minute on one core.
        int tensor = 0;
        const auto fill = [&](std::vector<std::uint16_t>& x, std::int64_t n) {
            x.resize(static_cast<std::size_t>(n));
            constexpr std::int64_t chunk = 1 << 20;
            const std::int64_t chunks = (n + chunk - 1) / chunk;
            const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
            std::vector<std::thread> pool;
            for (int t = 0; t < threads; ++t)
                pool.emplace_back([&, t] {
                    for (std::int64_t c = t; c < chunks; c += threads) {
                        std::mt19937_64 rng(seed * 1000003u + static_cast<std::uint64_t>(tensor) * 7919u +
                                            static_cast<std::uint64_t>(c));
                        std::normal_distribution<float> normal(0.0f, 1.0f);
                        for (std::int64_t i = c * chunk; i < std::min(n, (c + 1) * chunk); ++i)
                            x[static_cast<std::size_t>(i)] = toBf16(normal(rng));
                    }
                });
            for (auto& th : pool) th.join();
            ++tensor;
        };
        const std::int64_t qn = static_cast<std::int64_t>(o.heads) * T * o.dim;
        const std::int64_t kn = static_cast<std::int64_t>(o.kvHeads) * T * o.dim;
        fill(q, qn);
        fill(k, kn);
        fill(v, kn);
        const std::int64_t cells = static_cast<std::int64_t>(o.heads) * rows;
        check(cudaMalloc(&dq, qn * 2), "cudaMalloc q");
        check(cudaMalloc(&dk, kn * 2), "cudaMalloc k");
        check(cudaMalloc(&dv, kn * 2), "cudaMalloc v");
        check(cudaMalloc(&dout, qn * 2), "cudaMalloc output");
        check(cudaMalloc(&dindex, cells * kPrime * 4), "cudaMalloc index");
        check(cudaMalloc(&dmass, cells * kPrime * 4), "cudaMalloc mass");
        check(cudaMalloc(&dints, cells * gpu::kMaskWorkspaceInts * p.k * 4), "cudaMalloc workspace");
        check(cudaMalloc(&dscores, cells * gpu::kMaskWorkspaceScores * p.k * 8), "cudaMalloc scores");
        const std::int64_t table = static_cast<std::int64_t>(o.kvHeads) * levels * blocks * o.dim;
        check(cudaMalloc(&dlo, table * 2), "cudaMalloc envelope lo");
        check(cudaMalloc(&dhi, table * 2), "cudaMalloc envelope hi");
        check(cudaMemcpy(dq, q.data(), qn * 2, cudaMemcpyHostToDevice), "copy q");
        check(cudaMemcpy(dk, k.data(), kn * 2, cudaMemcpyHostToDevice), "copy k");
        check(cudaMemcpy(dv, v.data(), kn * 2, cudaMemcpyHostToDevice), "copy v");
    }
    ~Layer()
    {
        for (void* ptr : {dq, dk, dv, dout, static_cast<void*>(dindex), static_cast<void*>(dmass),
                          static_cast<void*>(dints), static_cast<void*>(dscores), dlo, dhi})
            cudaFree(ptr);
    }
    Layer(const Layer&) = delete;
    Layer& operator=(const Layer&) = delete;

    gpu::StreamAttnShape shape(const Options& o) const
    {
        gpu::StreamAttnShape s;
        s.dtype = gpu::ElementType::BF16;
        s.q = dq;
        s.k = dk;
        s.v = dv;
        s.heads = o.heads;
        s.kvHeads = o.kvHeads;
        s.queries = T;
        s.keys = T;
        s.headDim = o.dim;
        s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(o.dim)));
        s.bq = o.params.bq;
        s.bk = o.params.bk;
        s.topK = o.params.k;
        s.sinks = o.params.sinks;
        s.window = o.params.window;
        s.queryStride = o.params.queryStride;
        s.scoreRule = o.params.score == core::ScoreRule::Bound   ? gpu::MaskScoreRule::Bound
                      : o.params.score == core::ScoreRule::First ? gpu::MaskScoreRule::First
                                                                 : gpu::MaskScoreRule::Centre;
        s.kPrime = kPrime;
        s.rows = rows;
        return s;
    }

    // The three stages; each records an event after it when events are given.
    // Kernels of a run: the default dispatch, the bound search with a lane per child (mma attention),
    // or the general kernels (general search, SIMT attention).
    enum class Kernels { Default, LanePerChild, General };
    void run(const Options& o, cudaEvent_t* marks = nullptr, Kernels kernels = Kernels::Default)
    {
        const gpu::StreamAttnShape s = shape(o);
        if (marks) check(cudaEventRecord(marks[0]), "event");
        gpu::StreamMaskParams mask{s, dindex, dints, dscores};
        mask.search = kernels == Kernels::General        ? gpu::BoundSearch::General
                      : kernels == Kernels::LanePerChild ? gpu::BoundSearch::LanePerChild
                                                         : gpu::BoundSearch::Auto;
        if (s.scoreRule == gpu::MaskScoreRule::Bound) {
            gpu::launchBlockEnvelope({s, levels, blocks, dlo, dhi});
            mask.envelopeLo = dlo;
            mask.envelopeHi = dhi;
            mask.envelopeLevels = levels;
            mask.envelopeBlocks = blocks;
        }
        if (marks) check(cudaEventRecord(marks[1]), "event");
        gpu::launchStreamMask(mask);
        if (marks) check(cudaEventRecord(marks[2]), "event");
        gpu::BlockSparseParams attend{s, dindex, dout, dmass};
        attend.tensorCores = kernels != Kernels::General;
        gpu::launchBlockSparseAttention(attend);
        if (marks) check(cudaEventRecord(marks[3]), "event");
    }

    void poison(const Options& o)
    {
        const std::int64_t cells = static_cast<std::int64_t>(o.heads) * rows;
        check(cudaMemset(dindex, 0x7f, cells * kPrime * 4), "poison index");
        check(cudaMemset(dmass, 0xff, cells * kPrime * 4), "poison mass"); // NaN
        check(cudaMemset(dout, 0xff, static_cast<std::int64_t>(o.heads) * T * o.dim * 2), "poison output");
        const std::int64_t table = static_cast<std::int64_t>(o.kvHeads) * levels * blocks * o.dim;
        check(cudaMemset(dlo, 0xff, table * 2), "poison envelope lo");
        check(cudaMemset(dhi, 0xff, table * 2), "poison envelope hi");
    }

    template <class T> std::vector<T> download(const void* ptr, std::int64_t n) const
    {
        std::vector<T> x(static_cast<std::size_t>(n));
        check(cudaMemcpy(x.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost), "download");
        return x;
    }
};

// Kept (query, key) pairs over causal pairs, from an index [H, R, K'] (prefill, global layer).
double keptFraction(const std::vector<std::int32_t>& index, const Options& o, std::int64_t T, std::int64_t rows, int kp)
{
    double kept = 0;
    const int bq = o.params.bq, bk = o.params.bk;
    for (int h = 0; h < o.heads; ++h)
        for (std::int64_t r = 0; r < rows; ++r)
            for (int i = 0; i < kp; ++i) {
                const std::int32_t b = index[static_cast<std::size_t>((h * rows + r) * kp + i)];
                if (b < 0) continue;
                for (std::int64_t j = r * bq; j < std::min<std::int64_t>(r * bq + bq, T); ++j) {
                    const std::int64_t first = static_cast<std::int64_t>(b) * bk;
                    const std::int64_t end = std::min<std::int64_t>({first + bk, j + 1, T});
                    kept += static_cast<double>(std::max<std::int64_t>(0, end - first));
                }
            }
    const double causal = static_cast<double>(o.heads) * static_cast<double>(T) * static_cast<double>(T + 1) / 2;
    return kept / causal;
}

// One head of the layer as reference inputs (heads = kvHeads = 1), float copies of the bf16 data.
struct HeadInputs {
    std::vector<float> q, k, v;
    core::AttentionInputs in;
    HeadInputs(const Layer& L, const Options& o, int head)
    {
        const int kvh = head / (o.heads / o.kvHeads);
        const std::int64_t n = L.T * o.dim;
        q.resize(static_cast<std::size_t>(n));
        k.resize(q.size());
        v.resize(q.size());
        for (std::int64_t i = 0; i < n; ++i) {
            q[static_cast<std::size_t>(i)] = fromBf16(L.q[static_cast<std::size_t>(head * n + i)]);
            k[static_cast<std::size_t>(i)] = fromBf16(L.k[static_cast<std::size_t>(kvh * n + i)]);
            v[static_cast<std::size_t>(i)] = fromBf16(L.v[static_cast<std::size_t>(kvh * n + i)]);
        }
        in.heads = in.kvHeads = 1;
        in.queries = in.keys = L.T;
        in.headDim = o.dim;
        in.q = q;
        in.k = k;
        in.v = v;
        in.scale = 1.0 / std::sqrt(static_cast<double>(o.dim));
    }
};

bool checkBlockMass(const Options& o, const Layer& L, std::int64_t T, int referenceHeads);

// Correctness at length T: every index row against the reference mask (>= 99% identical in
// bf16), then output and masses against the reference run with the kernel's own mask on
// `attentionHeads` heads. Returns false on a failure.
bool checkLength(const Options& o, std::int64_t T, int attentionHeads, Layer::Kernels kernels)
{
    const bool general = kernels == Layer::Kernels::General;
    Layer L(o, T, 0x5eed0000u + static_cast<std::uint64_t>(T));
    L.poison(o);
    L.run(o, nullptr, kernels);
    check(cudaDeviceSynchronize(), "run");
    const std::int64_t cells = static_cast<std::int64_t>(o.heads) * L.rows;
    const auto index = L.download<std::int32_t>(L.dindex, cells * L.kPrime);
    const auto mass = L.download<float>(L.dmass, cells * L.kPrime);
    const auto out = L.download<std::uint16_t>(L.dout, static_cast<std::int64_t>(o.heads) * T * o.dim);
    L.run(o, nullptr, kernels); // a second run: identical masses, byte for byte
    check(cudaDeviceSynchronize(), "run");
    const bool deterministic = L.download<float>(L.dmass, cells * L.kPrime) == mass;
    std::vector<double> identical(static_cast<std::size_t>(o.heads)), massErr(identical.size()),
        outErr(identical.size()), outRef(identical.size());
    std::vector<int> massBad(identical.size());
    std::vector<std::thread> workers;
    for (int h = 0; h < o.heads; ++h)
        workers.emplace_back([&, h] {
            HeadInputs x(L, o, h);
            const std::vector<std::int32_t> ref = core::estimateMask(x.in, o.params);
            const std::size_t at = static_cast<std::size_t>(h * L.rows * L.kPrime);
            std::size_t same = 0;
            for (std::int64_t r = 0; r < L.rows; ++r)
                same += std::equal(ref.begin() + r * L.kPrime, ref.begin() + (r + 1) * L.kPrime,
                                   index.begin() + static_cast<std::ptrdiff_t>(at + r * L.kPrime));
            identical[static_cast<std::size_t>(h)] = static_cast<double>(same) / static_cast<double>(L.rows);
            if (h >= attentionHeads) return;
            const std::vector<std::int32_t> own(index.begin() + static_cast<std::ptrdiff_t>(at),
                                                index.begin() + static_cast<std::ptrdiff_t>(at + L.rows * L.kPrime));
            const core::StreamAttnResult want = core::attendWithMask(x.in, o.params, own);
            double me = 0, oe = 0, oref = 0;
            int bad = 0;
            for (std::size_t i = 0; i < want.mass.size(); ++i) {
                const double got = mass[at + i], w = want.mass[i];
                const double err = std::abs(got - w);
                if (!(err <= 1e-5 + 2e-4 * std::abs(w))) ++bad; // NaN (poison) counts as bad
                me = std::max(me, std::isnan(err) ? INFINITY : err);
            }
            const std::size_t oat = static_cast<std::size_t>(h * T * o.dim);
            for (std::size_t i = 0; i < want.output.size(); ++i) {
                const double w = want.output[i];
                const double e = std::abs(static_cast<double>(fromBf16(out[oat + i])) - w);
                oe = std::max(oe, std::isnan(e) ? INFINITY : e);
                oref = std::max(oref, std::abs(static_cast<double>(fromBf16(toBf16(static_cast<float>(w)))) - w));
            }
            massErr[static_cast<std::size_t>(h)] = me;
            massBad[static_cast<std::size_t>(h)] = bad;
            outErr[static_cast<std::size_t>(h)] = oe;
            outRef[static_cast<std::size_t>(h)] = oref;
        });
    for (auto& w : workers) w.join();
    bool ok = true;
    double worstSame = 1;
    for (int h = 0; h < o.heads; ++h) worstSame = std::min(worstSame, identical[static_cast<std::size_t>(h)]);
    const bool maskOk = worstSame >= 0.99;
    ok = ok && maskOk && (general || deterministic);
    std::printf("check T=%lld: masses of two runs %s\n", static_cast<long long>(T),
                deterministic ? "identical" : (general ? "differ (float atomics)" : "differ: FAIL"));
    std::printf("check T=%lld (%s): index rows identical to the reference: worst head %.4f%% %s\n",
                static_cast<long long>(T),
                general ? "general kernels" : kernels == Layer::Kernels::LanePerChild ? "lane-per-child search" : "default",
                worstSame * 100,
                maskOk ? "ok" : "FAIL (< 99%)");
    for (int h = 0; h < attentionHeads; ++h) {
        const auto u = static_cast<std::size_t>(h);
        const bool mOk = massBad[u] == 0, oOk = outErr[u] <= 2 * outRef[u] + 1e-5;
        ok = ok && mOk && oOk;
        std::printf("check T=%lld head %d: mass max err %.3g (%d out of tolerance) %s; output max err %.3g, bf16 "
                    "reference %.3g %s\n",
                    static_cast<long long>(T), h, massErr[u], massBad[u], mOk ? "ok" : "FAIL", outErr[u], outRef[u],
                    oOk ? "ok" : "FAIL");
    }
    if (kernels == Layer::Kernels::Default) ok = checkBlockMass(o, L, T, attentionHeads) && ok;
    return ok;
}

// --- The block-mass pass (fidelity: captured mass of the mask and the oracle; dense-layer
// records: the top K' blocks), tensor cores against the SIMT kernel and the CPU reference.

// One run's outputs on the host: captured [H, R], top blocks [H, R, K'], their masses [H, R, K'].
struct MassRecords {
    std::vector<float> captured;
    std::vector<std::int32_t> index;
    std::vector<float> mass;
    bool operator==(const MassRecords& b) const // byte for byte (NaN poison included)
    {
        const auto bytes = [](const auto& x, const auto& y) {
            return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(x[0])) == 0;
        };
        return bytes(captured, b.captured) && bytes(index, b.index) && bytes(mass, b.mass);
    }
};

// Device outputs of the block-mass pass for a layer; `run` poisons them first.
struct MassBuffers {
    std::int64_t cells = 0;
    int kPrime = 0;
    float* captured = nullptr;     // [H, R] float32
    std::int32_t* index = nullptr; // [H, R, K'] int32
    float* mass = nullptr;         // [H, R, K'] float32
    MassBuffers(const Options& o, const Layer& L) : cells(static_cast<std::int64_t>(o.heads) * L.rows), kPrime(L.kPrime)
    {
        check(cudaMalloc(&captured, cells * 4), "cudaMalloc captured");
        check(cudaMalloc(&index, cells * kPrime * 4), "cudaMalloc oracle index");
        check(cudaMalloc(&mass, cells * kPrime * 4), "cudaMalloc oracle mass");
    }
    ~MassBuffers()
    {
        cudaFree(captured);
        cudaFree(index);
        cudaFree(mass);
    }
    MassBuffers(const MassBuffers&) = delete;
    MassBuffers& operator=(const MassBuffers&) = delete;

    // The pass over the layer's mask (fidelity) or without one (dense-layer record).
    void run(const Options& o, const Layer& L, bool tensorCores, bool withMask, int slidingWindow, bool poisoned = true)
    {
        if (poisoned) {
            check(cudaMemset(captured, 0xff, cells * 4), "poison captured"); // NaN
            check(cudaMemset(index, 0x7f, cells * kPrime * 4), "poison oracle index");
            check(cudaMemset(mass, 0xff, cells * kPrime * 4), "poison oracle mass");
        }
        gpu::StreamAttnShape s = L.shape(o);
        s.slidingWindow = slidingWindow;
        gpu::BlockMassParams p{s, withMask ? L.dindex : nullptr, withMask ? captured : nullptr, index, mass};
        p.tensorCores = tensorCores;
        gpu::launchBlockMass(p);
    }
    MassRecords download(const Layer& L) const
    {
        MassRecords r{L.download<float>(captured, cells), L.download<std::int32_t>(index, cells * kPrime),
                      L.download<float>(mass, cells * kPrime)};
        return r;
    }
};

bool massClose(double got, double want) { return std::abs(got - want) <= 1e-5 + 2e-4 * std::abs(want); } // NaN: false

// Row `cell` of `got` against a wanted row: the captured mass (with a mask) within tolerance, and
// the oracle row either identical with its masses within tolerance, or (a near-tie resolved the
// other way in fp32) as many blocks with a total mass within tolerance.
struct RowCompare {
    bool ok = true, same = true;
    double capturedErr = 0;
};
RowCompare compareRow(const MassRecords& got, std::int64_t cell, bool withMask, float wantCaptured,
                      const std::int32_t* wantIndex, const float* wantMass, int kp)
{
    RowCompare c;
    if (withMask) {
        c.capturedErr = std::abs(static_cast<double>(got.captured[static_cast<std::size_t>(cell)]) - wantCaptured);
        if (std::isnan(c.capturedErr)) c.capturedErr = INFINITY;
        c.ok = massClose(got.captured[static_cast<std::size_t>(cell)], wantCaptured);
    }
    const std::int32_t* gi = got.index.data() + cell * kp;
    const float* gm = got.mass.data() + cell * kp;
    c.same = std::equal(gi, gi + kp, wantIndex);
    double gs = 0, ws = 0;
    int gn = 0, wn = 0;
    for (int i = 0; i < kp; ++i) {
        if (c.same && !massClose(gm[i], wantMass[i])) c.ok = false;
        gs += gm[i];
        ws += wantMass[i];
        gn += gi[i] >= 0;
        wn += wantIndex[i] >= 0;
        if (gi[i] < -1 || (i > 0 && gi[i] >= 0 && gi[i] <= gi[i - 1])) c.ok = false; // ascending, -1 padded
    }
    if (!c.same && (gn != wn || !massClose(gs, ws))) c.ok = false;
    return c;
}

// One head's row r as reference inputs of its own (queries of that row only, all keys).
void referenceRow(const HeadInputs& x, const Options& o, std::int64_t T, std::int64_t r, int slidingWindow,
                  const std::int32_t* maskRow, int kp, float& captured, std::vector<std::int32_t>& index,
                  std::vector<float>& mass)
{
    core::AttentionInputs in = x.in;
    const std::int64_t first = r * o.params.bq, n = std::min<std::int64_t>(o.params.bq, T - first);
    in.q = x.in.q.subspan(static_cast<std::size_t>(first * o.dim), static_cast<std::size_t>(n * o.dim));
    in.queries = n;
    in.queryOffset = first;
    in.slidingWindow = slidingWindow;
    if (maskRow) {
        const core::FidelityResult f = core::measureFidelity(in, o.params, std::span<const std::int32_t>(maskRow, kp));
        captured = f.captured[0];
        index = f.oracleIndex;
        mass = f.oracleMass;
        return;
    }
    const core::RowPlan plan = core::planRow(in, o.params, 0);
    const std::vector<double> all = core::denseBlockMass(in, 0, plan, o.params.bk);
    const std::vector<int> top = core::topBlocks(all, plan.visibleFirst, kp);
    captured = 0;
    index.assign(static_cast<std::size_t>(kp), -1);
    mass.assign(static_cast<std::size_t>(kp), 0.0f);
    for (std::size_t i = 0; i < top.size(); ++i) {
        index[i] = top[i];
        mass[i] = static_cast<float>(all[static_cast<std::size_t>(top[i] - plan.visibleFirst)]);
    }
}

// The block-mass pass at length T over the layer's mask (L.dindex from its run): for a global
// and a sliding-window layer, fidelity and dense record, the tensor-core kernel twice (identical
// bytes), against the SIMT kernel on every row and against the CPU reference on sampled rows of
// `referenceHeads` heads. Returns false on a failure.
bool checkBlockMass(const Options& o, const Layer& L, std::int64_t T, int referenceHeads)
{
    bool ok = true;
    MassBuffers buffers(o, L);
    const int kp = L.kPrime;
    const std::int64_t R = L.rows;
    std::vector<std::int64_t> rows; // sampled: the first, four spread over the middle, the last
    for (std::int64_t r : {std::int64_t{0}, std::int64_t{1}, std::int64_t{2}, R / 5, 2 * R / 5, 3 * R / 5, 4 * R / 5,
                           R - 3, R - 2, R - 1})
        if (r >= 0 && r < R && std::find(rows.begin(), rows.end(), r) == rows.end()) rows.push_back(r);
    const auto maskIndex = L.download<std::int32_t>(L.dindex, static_cast<std::int64_t>(o.heads) * R * kp);
    const int window = static_cast<int>(std::min<std::int64_t>(T / 4, 1000)) + 3; // not a multiple of bk
    for (const int slidingWindow : {0, window})
        for (const bool withMask : {true, false}) {
            buffers.run(o, L, true, withMask, slidingWindow);
            check(cudaDeviceSynchronize(), "block mass (mma)");
            const MassRecords mma = buffers.download(L);
            buffers.run(o, L, true, withMask, slidingWindow);
            check(cudaDeviceSynchronize(), "block mass (mma)");
            const bool deterministic = buffers.download(L) == mma;
            buffers.run(o, L, false, withMask, slidingWindow);
            check(cudaDeviceSynchronize(), "block mass (SIMT)");
            const MassRecords simt = buffers.download(L);
            std::int64_t simtSame = 0, simtBad = 0;
            double simtErr = 0;
            for (std::int64_t cell = 0; cell < static_cast<std::int64_t>(o.heads) * R; ++cell) {
                const RowCompare c = compareRow(mma, cell, withMask, withMask ? simt.captured[static_cast<std::size_t>(cell)] : 0.0f,
                                                simt.index.data() + cell * kp, simt.mass.data() + cell * kp, kp);
                simtSame += c.same;
                simtBad += !c.ok;
                simtErr = std::max(simtErr, c.capturedErr);
            }
            std::vector<int> refBad(static_cast<std::size_t>(referenceHeads)), refSame(refBad.size());
            std::vector<double> refErr(refBad.size());
            std::vector<std::thread> workers;
            for (int h = 0; h < referenceHeads; ++h)
                workers.emplace_back([&, h] {
                    HeadInputs x(L, o, h);
                    for (std::int64_t r : rows) {
                        const std::int64_t cell = h * R + r;
                        float captured = 0;
                        std::vector<std::int32_t> index;
                        std::vector<float> mass;
                        referenceRow(x, o, T, r, slidingWindow, withMask ? maskIndex.data() + cell * kp : nullptr, kp,
                                     captured, index, mass);
                        const RowCompare c = compareRow(mma, cell, withMask, captured, index.data(), mass.data(), kp);
                        const auto u = static_cast<std::size_t>(h);
                        refSame[u] += c.same;
                        refBad[u] += !c.ok;
                        refErr[u] = std::max(refErr[u], c.capturedErr);
                    }
                });
            for (auto& w : workers) w.join();
            int bad = 0, same = 0;
            double err = 0;
            for (int h = 0; h < referenceHeads; ++h) {
                bad += refBad[static_cast<std::size_t>(h)];
                same += refSame[static_cast<std::size_t>(h)];
                err = std::max(err, refErr[static_cast<std::size_t>(h)]);
            }
            const std::int64_t cells = static_cast<std::int64_t>(o.heads) * R;
            const bool simtOk = simtBad == 0 && static_cast<double>(simtSame) >= 0.99 * static_cast<double>(cells);
            ok = ok && deterministic && simtOk && bad == 0;
            std::printf("check T=%lld block mass (%s, %s): tensor cores, two runs %s; against SIMT: oracle rows "
                        "identical %.3f%%, captured max err %.3g, %lld rows out of tolerance %s; against the reference "
                        "(%zu rows x %d heads): oracle rows identical %d, captured max err %.3g, %d rows out of "
                        "tolerance %s\n",
                        static_cast<long long>(T), withMask ? "fidelity" : "dense record",
                        slidingWindow > 0 ? ("window " + std::to_string(slidingWindow)).c_str() : "global",
                        deterministic ? "identical" : "differ: FAIL",
                        100.0 * static_cast<double>(simtSame) / static_cast<double>(cells), simtErr,
                        static_cast<long long>(simtBad), simtOk ? "ok" : "FAIL", rows.size(), referenceHeads, same, err,
                        bad, bad == 0 ? "ok" : "FAIL");
        }
    return ok;
}

// Fidelity pass over the layer's mask, ms per layer: tensor cores, and the SIMT kernel up to
// o.simtMassMax (O(T^2) on CUDA cores: about a minute per layer at 128k).
struct MassTiming {
    std::int64_t T = 0;
    float mma = 0, simt = -1;
};
MassTiming timeBlockMass(const Options& o, const Layer& L)
{
    MassBuffers buffers(o, L);
    cudaEvent_t a, b;
    check(cudaEventCreate(&a), "cudaEventCreate");
    check(cudaEventCreate(&b), "cudaEventCreate");
    const auto timed = [&](bool tensorCores, int repeat) {
        std::vector<float> ms;
        for (int i = 0; i < repeat; ++i) {
            check(cudaEventRecord(a), "event");
            buffers.run(o, L, tensorCores, true, 0, false);
            check(cudaEventRecord(b), "event");
            check(cudaEventSynchronize(b), "sync");
            float x = 0;
            check(cudaEventElapsedTime(&x, a, b), "elapsed");
            ms.push_back(x);
        }
        std::sort(ms.begin(), ms.end());
        return ms[ms.size() / 2];
    };
    MassTiming t;
    t.T = L.T;
    timed(true, 1); // warm-up
    t.mma = timed(true, o.repeat);
    if (L.T <= o.simtMassMax) t.simt = timed(false, std::min(o.repeat, 2));
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return t;
}

void writeMask(const Options& o, const Layer& L, const std::vector<std::int32_t>& index)
{
    const std::string base = o.maskDir + "/mask-" + std::to_string(L.T);
    std::ofstream bin(base + ".bin", std::ios::binary);
    bin.write(reinterpret_cast<const char*>(index.data()), static_cast<std::streamsize>(index.size() * 4));
    std::ofstream meta(base + ".json");
    meta << "{\"T\": " << L.T << ", \"heads\": " << o.heads << ", \"kv_heads\": " << o.kvHeads << ", \"dim\": " << o.dim
         << ", \"rows\": " << L.rows << ", \"k_prime\": " << L.kPrime << ", \"bq\": " << o.params.bq
         << ", \"bk\": " << o.params.bk << ", \"dtype\": \"int32\", \"layout\": \"[H, R, K']\"}\n";
}

MassTiming timeLength(const Options& o, std::int64_t T)
{
    Layer L(o, T, 0x7157u + static_cast<std::uint64_t>(T));
    cudaEvent_t marks[4];
    for (auto& e : marks) check(cudaEventCreate(&e), "cudaEventCreate");
    L.run(o); // warm-up
    check(cudaDeviceSynchronize(), "warm-up");
    std::vector<float> table, mask, attention, total;
    for (int i = 0; i < o.repeat; ++i) {
        L.run(o, marks);
        check(cudaEventSynchronize(marks[3]), "sync");
        float a = 0, b = 0, c = 0;
        check(cudaEventElapsedTime(&a, marks[0], marks[1]), "elapsed");
        check(cudaEventElapsedTime(&b, marks[1], marks[2]), "elapsed");
        check(cudaEventElapsedTime(&c, marks[2], marks[3]), "elapsed");
        table.push_back(a);
        mask.push_back(b);
        attention.push_back(c);
        total.push_back(a + b + c);
    }
    const auto median = [](std::vector<float> x) {
        std::sort(x.begin(), x.end());
        return x[x.size() / 2];
    };
    const std::int64_t cells = static_cast<std::int64_t>(o.heads) * L.rows;
    const auto index = L.download<std::int32_t>(L.dindex, cells * L.kPrime);
    const double kept = keptFraction(index, o, T, L.rows, L.kPrime);
    std::vector<float> lanePerChild, generalMask, generalAttend; // the other kernels, for comparison
    for (int i = 0; i < std::min(o.repeat, 3); ++i) {
        L.run(o, marks, Layer::Kernels::LanePerChild);
        check(cudaEventSynchronize(marks[3]), "sync");
        float a = 0;
        check(cudaEventElapsedTime(&a, marks[1], marks[2]), "elapsed");
        lanePerChild.push_back(a);
        L.run(o, marks, Layer::Kernels::General);
        check(cudaEventSynchronize(marks[3]), "sync");
        float b = 0, c = 0;
        check(cudaEventElapsedTime(&b, marks[1], marks[2]), "elapsed");
        check(cudaEventElapsedTime(&c, marks[2], marks[3]), "elapsed");
        generalMask.push_back(b);
        generalAttend.push_back(c);
    }
    const auto generalIndex = L.download<std::int32_t>(L.dindex, cells * L.kPrime);
    std::size_t same = 0;
    for (std::int64_t r = 0; r < cells; ++r)
        same += std::equal(index.begin() + r * L.kPrime, index.begin() + (r + 1) * L.kPrime,
                           generalIndex.begin() + r * L.kPrime);
    std::printf("| %8lld | %10.3f | %10.3f | %10.3f | %10.3f | %9.5f | %14.3f | %12.3f | %14.3f | %9.4f |\n",
                static_cast<long long>(T), median(table), median(mask), median(attention), median(total), kept,
                median(lanePerChild), median(generalMask), median(generalAttend),
                100.0 * static_cast<double>(same) / static_cast<double>(cells));
    std::fflush(stdout);
    if (!o.maskDir.empty()) writeMask(o, L, index);
    for (auto& e : marks) cudaEventDestroy(e);
    L.run(o); // the default kernels' mask for the fidelity pass
    return timeBlockMass(o, L);
}

} // namespace

int main(int argc, char** argv)
{
    try {
        const Options o = parse(argc, argv);
        cudaDeviceProp prop{};
        check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
        std::printf("bench_stream_attn on %s: H=%d Hkv=%d D=%d bq=%d bk=%d K=%d S=%d W=%d score=%s, bf16\n", prop.name,
                    o.heads, o.kvHeads, o.dim, o.params.bq, o.params.bk, o.params.k, o.params.sinks, o.params.window,
                    std::string(core::scoreRuleName(o.params.score)).c_str());
        bool ok = true;
        for (std::int64_t T : o.checkLengths) {
            ok = checkLength(o, T, T <= 8192 ? o.heads : 2, Layer::Kernels::Default) && ok;
            if (T > 8192) continue;
            ok = checkLength(o, T, 2, Layer::Kernels::LanePerChild) && ok;
            ok = checkLength(o, T, 2, Layer::Kernels::General) && ok;
        }
        std::printf("\n| T        | table ms   | mask ms    | attend ms  | total ms   | kept frac | lane-per-child | general mask | general attend | same rows |\n"
                    "|----------|------------|------------|------------|------------|-----------|----------------|--------------|----------------|-----------|\n");
        std::vector<MassTiming> massTimes;
        for (std::int64_t T : o.timeLengths) massTimes.push_back(timeLength(o, T));
        if (!massTimes.empty())
            std::printf("\nFidelity pass (block masses over the layer's mask, captured mass, oracle), ms per layer:\n"
                        "| T        | tensor cores | SIMT       | SIMT / tensor cores |\n"
                        "|----------|--------------|------------|---------------------|\n");
        for (const MassTiming& t : massTimes) {
            if (t.simt >= 0)
                std::printf("| %8lld | %12.3f | %10.3f | %19.1f |\n", static_cast<long long>(t.T), t.mma, t.simt,
                            t.simt / t.mma);
            else
                std::printf("| %8lld | %12.3f | (not run) |                     |\n", static_cast<long long>(t.T), t.mma);
        }
        std::printf("%s\n", ok ? "all checks passed" : "CHECKS FAILED");
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_stream_attn: %s\n", e.what());
        return 1;
    }
}
