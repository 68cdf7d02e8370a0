// Regenerates tests/fixtures/traces/: a small valid trace with a planted block, broken variants
// of it (truncated, corrupted header, wrong shape, wrong dtype, foreign file), and a small
// chain-of-thought trace (a <think> text whose sentence 3 is a planted anchor).
// Usage: make_fixture_traces OUTDIR [DEMO_TRACE]  (DEMO_TRACE: the bundled synthetic sample of
// resources/demo, 4 layers x 6 heads over 4096 tokens)
// SPDX-License-Identifier: GPL-3.0-or-later
#include "../core/cot_synthetic.h"

#include "sparsetrace/core/safetensors.h"
#include "sparsetrace/core/synthetic_trace.h"
#include "sparsetrace/core/trace_file.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>

using namespace sparsetrace::core;

namespace {
std::vector<char> readAll(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void writeAll(const std::string& path, const std::vector<char>& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
// Rewrites the JSON header of a safetensors image through `edit` (keeps the data region).
std::vector<char> editHeader(const std::vector<char>& bytes, const std::function<void(nlohmann::ordered_json&)>& edit)
{
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    auto header = nlohmann::ordered_json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
    edit(header);
    std::string text = header.dump();
    while ((8 + text.size()) % 8) text.push_back(' ');
    std::string out(8, '\0');
    std::uint64_t m = text.size();
    std::memcpy(out.data(), &m, 8);
    out += text;
    out.append(bytes.data() + 8 + n, bytes.size() - 8 - n);
    return {out.begin(), out.end()};
}
} // namespace

SyntheticTraceSpec sampleSpec()
{
    SyntheticTraceSpec spec;
    spec.layers = 3;
    spec.heads = 4;
    spec.kvHeads = 2;
    spec.headDim = 16;
    spec.promptTokens = 200; // not a multiple of bq
    spec.generatedTokens = 2;
    spec.params.bq = 8;
    spec.params.bk = 8;
    spec.params.k = 3;
    spec.params.sinks = 8;
    spec.params.window = 16;
    spec.seed = 7;
    spec.withFidelity = true;
    // Layer 1, head 2: query block 20 puts 0.9 of its mass on key block 5.
    spec.planted = {{1, 2, 20, 5, 0.9f}};
    return spec;
}

int main(int argc, char** argv)
{
    if (argc != 2 && argc != 3) {
        std::cerr << "usage: make_fixture_traces OUTDIR [DEMO_TRACE]\n";
        return 2;
    }
    std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    const std::string good = (dir / "sample-small.sptrace").string();
    writeTraceFile(*makeSyntheticTrace(sampleSpec()), good);
    std::vector<char> bytes = readAll(good);

    std::vector<char> truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
    writeAll((dir / "truncated.sptrace").string(), truncated);

    std::vector<char> badHeader = bytes;
    badHeader[8] = 'X'; // the JSON object no longer opens with '{'
    badHeader[20] = '"';
    writeAll((dir / "bad-header.sptrace").string(), badHeader);

    writeAll((dir / "wrong-shape.sptrace").string(), editHeader(bytes, [](nlohmann::ordered_json& h) {
        auto& t = h["layers.0.index"];
        auto shape = t["shape"];
        // Same byte count, other shape: [H, R, K'] -> [R, H, K']
        t["shape"] = {shape[1], shape[0], shape[2]};
    }));
    writeAll((dir / "wrong-dtype.sptrace").string(), editHeader(bytes, [](nlohmann::ordered_json& h) {
        h["layers.1.mass"]["dtype"] = "I32";
    }));
    writeAll((dir / "foreign.safetensors").string(), editHeader(bytes, [](nlohmann::ordered_json& h) {
        h["__metadata__"] = {{"format", "pt"}};
    }));
    {
        // 12 sentences after "<think>", 3 layers x 3 heads; every later sentence attends to
        // sentence 3 in layer 1 head 0 and layer 2 head 1 (receiver heads).
        constexpr int sentences = 12, anchor = 3;
        auto cot = sparsetrace::test::cotSpec(sentences, 3, 3);
        sparsetrace::test::plantAnchor(cot, 1, 0, anchor, sentences, 0.8f);
        sparsetrace::test::plantAnchor(cot, 2, 1, anchor, sentences, 0.8f);
        cot.seed = 11;
        writeTraceFile(*makeSyntheticTrace(cot), (dir / "chain-of-thought.sptrace").string());
    }
    if (argc == 3) {
        SyntheticTraceSpec demo;
        demo.layers = 4;
        demo.heads = 6;
        demo.kvHeads = 2;
        demo.headDim = 64;
        demo.promptTokens = 4096;
        demo.params.k = 8;
        demo.seed = 2026;
        demo.planted = {{2, 3, 100, 40, 0.8f}, {3, 1, 127, 3, 0.7f}};
        writeTraceFile(*makeSyntheticTrace(demo), argv[2]);
    }
    std::cout << "wrote fixtures to " << dir << "\n";
    return 0;
}
