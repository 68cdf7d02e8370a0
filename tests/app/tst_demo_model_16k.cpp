// The 16k demo retriever (resources/demo-model-16k) against Hugging Face transformers: our CPU
// runtime's fp32 logits through the CLI (`sparsetrace generate --logits-out`) equal the logits
// that transformers' Qwen2ForCausalLM gave on the same folder when train.py exported it
// (tests/fixtures/demo-model-16k/reference.safetensors): the last 64 of 300 random token ids, and the last 32
// positions of a needle prompt of about 16,384 tokens (evaluation keys), where RoPE reaches the
// far end of the context. Skips while the model is not in the checkout (issue #23).
// SPDX-License-Identifier: GPL-3.0-or-later
#include "cli_process.h"
#include "shared_assets.h"

#include "sparsetrace/core/safetensors.h"

#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

using sparsetrace::test::runCli;

namespace {
// Logits of the 4k demo model reach about 35; our runtime matched its training script to 8.9e-5
// on 300 ids (resources/demo-model/README.md). 1e-3 leaves room for fp32 sums over 16k keys.
constexpr double kTolerance = 1e-3;

const QString kModel = QStringLiteral(SPARSETRACE_SOURCE_DIR "/resources/demo-model-16k");

std::size_t argmax(const std::vector<float>& v, std::size_t row, std::size_t vocab)
{
    const auto first = v.begin() + static_cast<std::ptrdiff_t>(row * vocab);
    return static_cast<std::size_t>(std::max_element(first, first + static_cast<std::ptrdiff_t>(vocab)) - first);
}
} // namespace

class TstDemoModel16k : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;

    // Our CPU logits of `ids` (every prompt position, [T, V]).
    std::vector<float> ourLogits(const std::vector<std::int64_t>& ids, const QString& name)
    {
        const QString idsFile = m_tmp.filePath(name + ".json");
        std::ofstream(idsFile.toStdString()) << nlohmann::json(ids).dump();
        const QString out = m_tmp.filePath(name + ".safetensors");
        const auto r = runCli({"generate", "--model", kModel, "--token-ids", idsFile, "--max-new-tokens", "0",
                               "--logits-out", out},
                              600000);
        if (r.code != 0) {
            qWarning("%s", qPrintable(r.err));
            return {};
        }
        auto f = sparsetrace::core::SafetensorsFile::open(out.toStdString());
        std::vector<float> logits = f.copy<float>("logits");
        QFile::remove(out);
        return logits;
    }

    void compare(const std::vector<float>& ours, std::size_t oursRows, const std::vector<float>& theirs, std::size_t rows,
                 std::size_t vocab, const char* what)
    {
        QVERIFY2(ours.size() == oursRows * vocab, what);
        QCOMPARE(theirs.size(), rows * vocab);
        const std::size_t skip = (oursRows - rows) * vocab; // transformers' rows are the last `rows`
        double err = 0, largest = 0;
        for (std::size_t i = 0; i < theirs.size(); ++i) {
            err = std::max(err, std::abs(double(ours[skip + i]) - theirs[i]));
            largest = std::max(largest, std::abs(double(theirs[i])));
        }
        int sameArgmax = 0;
        for (std::size_t r = 0; r < rows; ++r)
            sameArgmax += argmax(ours, oursRows - rows + r, vocab) == argmax(theirs, r, vocab) ? 1 : 0;
        qInfo("%s: max |our logit - transformers'| = %.3g over %zu rows (largest |logit| %.1f); greedy token agrees on %d of %zu rows",
              what, err, rows, largest, sameArgmax, rows);
        QVERIFY2(err <= kTolerance, what);
        QVERIFY2(largest > 5, "the reference logits are not degenerate");
        // Near-ties may flip under a different evaluation order; a trained model has few.
        QVERIFY2(sameArgmax >= int(rows) - 1, what);
    }

private slots:
    void logitsMatchTransformers()
    {
        const auto refPath = sparsetrace::test::fixturesDir() / "demo-model-16k" / "reference.safetensors";
        if (!QFileInfo::exists(kModel + "/model.safetensors") || !std::filesystem::exists(refPath))
            QSKIP("resources/demo-model-16k or tests/fixtures/demo-model-16k/reference.safetensors is not in this checkout "
                  "(issue #23: train.py --context 16384 writes both on the GPU machine)");
        auto ref = sparsetrace::core::SafetensorsFile::open(refPath.string());
        const std::size_t vocab = 4096;

        const auto randomIds = ref.copy<std::int64_t>("random_ids");
        const auto randomHf = ref.copy<float>("random_logits_last64_hf");
        QCOMPARE(randomIds.size(), std::size_t(300));
        compare(ourLogits(randomIds, "random"), randomIds.size(), randomHf, 64, vocab, "300 random ids, last 64 rows");

        const auto longIds = ref.copy<std::int64_t>("long_ids");
        const auto longHf = ref.copy<float>("long_logits_last32_hf");
        // train.py fills the needle prompt to the context (16,384 tokens) to within a sentence.
        QVERIFY2(longIds.size() > 16000 && longIds.size() <= 16384, "the reference's needle prompt spans the 16k context");
        compare(ourLogits(longIds, "long"), longIds.size(), longHf, 32, vocab, "16k-token needle prompt, last 32 rows");
    }
};

QTEST_GUILESS_MAIN(TstDemoModel16k)
#include "tst_demo_model_16k.moc"
