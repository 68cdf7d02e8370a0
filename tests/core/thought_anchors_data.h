// The 20 Thought Anchors chains of thought of ../shared (10 correct, 10 incorrect), unpacked
// once into the build's scratch folder, and their texts and labelled sentences.
// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "shared_assets.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sparsetrace::test {

struct LabelledChain {
    std::string folder;
    std::string fullCot;                 // base_solution.json full_cot (prompt + <think> ... )
    std::vector<std::string> chunks;     // chunks_labeled.json chunk texts, by chunk_idx
    std::vector<std::string> firstTags;  // their first function tag
};

// Unpacks the archive (tar --zstd) into the scratch folder; empty path when tar fails.
inline std::filesystem::path unpackThoughtAnchors(const std::filesystem::path& shared)
{
    const auto out = scratchDir() / "thought-anchors";
    const auto root = out / "deepseek-r1-distill-qwen-14b";
    if (std::filesystem::exists(root / "incorrect_base_solution")) return root;
    std::filesystem::create_directories(out);
    const auto archive = shared / "assets" / "traces" / "thought-anchors-r1-distill-qwen-14b.tar.zst";
    const std::string cmd = "tar --zstd -xf '" + archive.string() + "' -C '" + out.string() + "'";
    if (std::system(cmd.c_str()) != 0) return {};
    return root;
}

inline nlohmann::json readJson(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str());
}

// "correct" or "incorrect" chains, sorted by folder name.
inline std::vector<LabelledChain> loadChains(const std::filesystem::path& root, const std::string& which)
{
    std::vector<LabelledChain> out;
    std::vector<std::filesystem::path> dirs;
    for (const auto& e : std::filesystem::directory_iterator(root / (which + "_base_solution")))
        if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
        LabelledChain c;
        c.folder = d.string();
        c.fullCot = readJson(d / "base_solution.json").at("full_cot").get<std::string>();
        auto chunks = readJson(d / "chunks_labeled.json");
        std::sort(chunks.begin(), chunks.end(),
                  [](const auto& a, const auto& b) { return a.at("chunk_idx").template get<int>() < b.at("chunk_idx").template get<int>(); });
        for (const auto& ch : chunks) {
            c.chunks.push_back(ch.at("chunk").get<std::string>());
            const auto& tags = ch.at("function_tags");
            c.firstTags.push_back(tags.empty() ? std::string("unknown") : tags[0].get<std::string>());
        }
        out.push_back(std::move(c));
    }
    return out;
}

} // namespace sparsetrace::test
