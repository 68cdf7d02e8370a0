// Model folder inspection (see model_folder.h).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/model_folder.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/format.h"
#include "sparsetrace/core/mapped_file.h"
#include "sparsetrace/core/safetensors.h"
#include "sparsetrace/core/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

namespace sparsetrace::core {

namespace fs = std::filesystem;

namespace {

// The weight files of the folder: model.safetensors, or the shards its index names.
std::vector<fs::path> weightFiles(const fs::path& dir)
{
    const fs::path single = dir / "model.safetensors";
    if (fs::exists(single)) return {single};
    const fs::path index = dir / "model.safetensors.index.json";
    if (!fs::exists(index))
        throw ModelError(dir.string() + ": neither model.safetensors nor model.safetensors.index.json is present");
    const auto file = MappedFile::open(index.string());
    nlohmann::json j = nlohmann::json::parse(reinterpret_cast<const char*>(file->bytes().data()),
                                             reinterpret_cast<const char*>(file->bytes().data()) + file->size(), nullptr, false);
    if (j.is_discarded()) throw ModelError(index.string() + ": not valid JSON");
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
        throw ModelError(index.string() + ": key \"weight_map\" is missing");
    std::set<std::string> shards;
    for (const auto& [name, shard] : j["weight_map"].items()) {
        if (!shard.is_string()) throw ModelError(index.string() + ": weight_map entry \"" + name + "\" is not a file name");
        shards.insert(shard.get<std::string>());
    }
    std::vector<fs::path> out;
    for (const std::string& s : shards) {
        if (s.find('/') != std::string::npos || s.find("..") != std::string::npos)
            throw ModelError(index.string() + ": weight_map names \"" + s + "\" outside the model folder");
        if (!fs::exists(dir / s)) throw ModelError(index.string() + ": shard " + s + " is missing");
        out.push_back(dir / s);
    }
    return out;
}

} // namespace

std::string ModelFolderSummary::describe() const
{
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s, %d layers x %d heads (%d KV), %.3g M parameters", architectureName(config.architecture).c_str(),
                  config.layers, config.heads, config.kvHeads, static_cast<double>(parameters) / 1e6);
    std::string s = buf;
    if (weightBytes > 0) s += ", " + formatBytes(static_cast<double>(weightBytes)) + " of " + weightDtypes + " weights";
    if (tokenizerFound) s += ", vocabulary " + std::to_string(tokenizerVocab);
    return s;
}

ModelFolderSummary inspectModelFolder(const std::string& dirName)
{
    const fs::path dir(dirName);
    if (!fs::is_directory(dir)) throw IoError(dirName + ": not a folder");
    ModelFolderSummary s;
    s.dir = dirName;
    s.config = ModelConfig::load(dirName);
    s.parameters = s.config.parameterCount();
    try {
        std::map<std::string, std::int64_t> dtypes; // dtype name -> tensors
        for (const fs::path& f : weightFiles(dir)) {
            const SafetensorsFile file = SafetensorsFile::open(f.string());
            for (const TensorInfo& t : file.tensors()) ++dtypes[std::string(dtypeName(t.dtype))];
            s.weightBytes += static_cast<std::int64_t>(fs::file_size(f));
            ++s.weightFiles;
        }
        if (dtypes.empty()) throw ModelError(dirName + ": the weight files hold no tensors");
        for (const auto& [name, count] : dtypes) s.weightDtypes += (s.weightDtypes.empty() ? "" : " + ") + name;
    } catch (const Error& e) {
        s.weightsProblem = e.what();
    }
    try {
        const Tokenizer tok = Tokenizer::fromModelDir(dir);
        s.tokenizerFound = true;
        s.tokenizerVocab = static_cast<std::int64_t>(tok.vocabSize());
        s.chatTemplate = tok.chatFormat() != ChatFormat::None;
    } catch (const Error& e) {
        s.tokenizerProblem = e.what();
    }
    return s;
}

} // namespace sparsetrace::core
