// Replays files (or every file of folders) through a fuzz target's fuzzOne(), for builds
// without libFuzzer: committed seeds and regression inputs become ordinary tests.
// SPDX-License-Identifier: GPL-3.0-or-later
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string_view>
#include <vector>

int fuzzOne(const std::uint8_t* data, std::size_t size);

// Arguments: seed files or folders, then optionally `--optional FOLDER...`: folders that may be
// absent (a target's regressions folder is not in git while it is empty). A missing seed is an
// error: replaying nothing must not pass silently.
int main(int argc, char** argv)
{
    int files = 0;
    bool optional = false;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--optional") {
            optional = true;
            continue;
        }
        if (!std::filesystem::exists(argv[i])) {
            if (optional) {
                std::cout << "no inputs at " << argv[i] << " (none committed yet)\n";
                continue;
            }
            std::cerr << argv[i] << ": no such seed file or folder\n";
            return 1;
        }
        std::vector<std::filesystem::path> inputs;
        if (std::filesystem::is_directory(argv[i])) {
            for (const auto& e : std::filesystem::recursive_directory_iterator(argv[i]))
                if (e.is_regular_file()) inputs.push_back(e.path());
        } else {
            inputs.emplace_back(argv[i]);
        }
        for (const auto& p : inputs) {
            std::ifstream in(p, std::ios::binary);
            if (!in) {
                std::cerr << p.string() << ": cannot read\n";
                return 1;
            }
            std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
            fuzzOne(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
            ++files;
        }
    }
    std::cout << "replayed " << files << " inputs without a crash\n";
    std::cout << files << " passed, 0 failed\n";
    return 0;
}
