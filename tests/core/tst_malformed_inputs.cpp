// Malformed inputs, table by table: the committed sample trace cut at every section boundary and
// with a corrupted header (magic, dtype, shapes, offsets, counts, text), and broken config.json,
// tokenizer.json, labels, NIAH tables and prompts. Each row states the exact message expected.
// (The cases that need the model runtime are in tests/app/tst_cli_malformed_inputs.cpp.)
// SPDX-License-Identifier: GPL-3.0-or-later
#include "shared_assets.h"

#include "sparsetrace/core/error.h"
#include "sparsetrace/core/model_config.h"
#include "sparsetrace/core/niah_sweep.h"
#include "sparsetrace/core/prompt_source.h"
#include "sparsetrace/core/safetensors.h"
#include "sparsetrace/core/thought_anchors.h"
#include "sparsetrace/core/tokenizer.h"
#include "sparsetrace/core/trace_file.h"
#include "sparsetrace/core/utf8.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>

using namespace sparsetrace;
using nlohmann::json;

namespace {

QByteArray readBytes(const std::filesystem::path& p)
{
    QFile f(QString::fromStdString(p.string()));
    if (!f.open(QIODevice::ReadOnly)) qFatal("cannot read %s", p.string().c_str());
    return f.readAll();
}

std::uint64_t headerLength(const QByteArray& file)
{
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<std::uint8_t>(file[i]);
    return n;
}

QByteArray le64(std::uint64_t v)
{
    QByteArray out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return out;
}

// The file with its safetensors header replaced by `mutate(header)`; tensor data unchanged
// (data_offsets count from the end of the header, so they stay valid).
QByteArray withHeader(const QByteArray& file, const std::function<void(json&)>& mutate)
{
    const auto n = static_cast<qsizetype>(headerLength(file));
    json header = json::parse(file.constData() + 8, file.constData() + 8 + n);
    mutate(header);
    QByteArray text = QByteArray::fromStdString(header.dump());
    while (text.size() % 8) text += ' ';
    return le64(static_cast<std::uint64_t>(text.size())) + text + file.mid(8 + n);
}

QByteArray withMetadata(const QByteArray& file, const std::string& key, const std::function<void(json&)>& mutate)
{
    return withHeader(file, [&](json& h) {
        json value = json::parse(h["__metadata__"][key].get<std::string>());
        mutate(value);
        h["__metadata__"][key] = value.dump();
    });
}

// Tensors of a safetensors file sorted by name: the order the reader checks them in.
std::vector<core::TensorInfo> tensorsByName(const QByteArray& file)
{
    std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(file.constData()),
                                 reinterpret_cast<const std::byte*>(file.constData()) + file.size());
    auto st = core::SafetensorsFile::fromMapped(core::MappedFile::fromBytes("intact", std::move(bytes)));
    std::vector<core::TensorInfo> out = st.tensors();
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

// Rows cutting `file` at every section boundary: inside and after the 8-byte header length,
// inside and after the JSON header, then before and inside each tensor's data. The message
// names the first tensor (by name, the reader's order) whose data the cut removes.
void addTruncationRows(const QByteArray& file, const char* prefix)
{
    const auto n = static_cast<qsizetype>(headerLength(file));
    const QString tooShort = "FILE: not a safetensors file (shorter than its 8-byte header length)";
    auto headerCut = [&](qsizetype size) {
        return QString("FILE: truncated: header of %1 bytes but the file has %2 bytes").arg(n).arg(size);
    };
    QTest::newRow(qPrintable(QString("%1: empty").arg(prefix))) << file.left(0) << tooShort;
    QTest::newRow(qPrintable(QString("%1: inside the header length").arg(prefix))) << file.left(4) << tooShort;
    QTest::newRow(qPrintable(QString("%1: after the header length").arg(prefix))) << file.left(8) << headerCut(8);
    QTest::newRow(qPrintable(QString("%1: inside the header").arg(prefix))) << file.left(8 + n / 2) << headerCut(8 + n / 2);
    const auto tensors = tensorsByName(file);
    const std::uint64_t dataBytes = static_cast<std::uint64_t>(file.size() - 8 - n);
    auto dataCut = [&](std::uint64_t held) {
        for (const auto& t : tensors)
            if (t.end > held)
                return QString("FILE: tensor %1: data ends at byte %2 but the file holds %3 data bytes (truncated?)")
                    .arg(QString::fromStdString(t.name))
                    .arg(t.end)
                    .arg(held);
        return QString();
    };
    QTest::newRow(qPrintable(QString("%1: after the header").arg(prefix))) << file.left(8 + n) << dataCut(0);
    auto byOffset = tensors;
    std::sort(byOffset.begin(), byOffset.end(), [](const auto& a, const auto& b) { return a.begin < b.begin; });
    for (const auto& t : byOffset) {
        const std::uint64_t cuts[] = {t.begin, t.begin + (t.end - t.begin) / 2};
        const char* where[] = {"before", "inside"};
        for (int c = 0; c < 2; ++c) {
            if (c == 1 && t.end - t.begin < 2) continue;
            QTest::newRow(qPrintable(QString("%1: %2 %3").arg(prefix, where[c], QString::fromStdString(t.name))))
                << file.left(8 + n + static_cast<qsizetype>(cuts[c])) << dataCut(cuts[c]);
        }
    }
    QTest::newRow(qPrintable(QString("%1: last byte missing").arg(prefix))) << file.left(file.size() - 1) << dataCut(dataBytes - 1);
}

} // namespace

class TestMalformedInputs : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    QByteArray m_trace;       // tests/fixtures/traces/sample-small.sptrace
    QByteArray m_safetensors; // tests/fuzz/seeds/safetensors/two-tensors.safetensors

    QString write(const QString& name, const QByteArray& bytes)
    {
        const QString path = m_tmp.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size()) qFatal("cannot write %s", qPrintable(path));
        return path;
    }

    // Runs `read` and checks it throws exactly `expected` (FILE replaced by `file`) as an E.
    template <class E> void expectError(const std::function<void()>& read, QString expected, const QString& file = {})
    {
        expected.replace("FILE", file);
        try {
            read();
        } catch (const E& e) {
            QVERIFY2(core::isValidUtf8(e.what()), "the message is not valid UTF-8"); // it goes to terminals and widgets
            QCOMPARE(QString::fromUtf8(e.what()), expected);
            return;
        } catch (const std::exception& e) {
            QFAIL(qPrintable(QString("wrong exception type: ") + e.what()));
        }
        QFAIL(qPrintable("no error; expected: " + expected));
    }

    // The body of a table's test function: writes the row's bytes to `fileName` and checks that
    // read(path) throws exactly the row's message as an E.
    template <class E> void checkRow(const QString& fileName, const std::function<void(const std::string&)>& read)
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const QString path = write(fileName, bytes);
        expectError<E>([&] { read(path.toStdString()); }, expected, path);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_tmp.isValid());
        m_trace = readBytes(test::fixturesDir() / "traces" / "sample-small.sptrace");
        m_safetensors = readBytes(test::fixturesDir().parent_path() / "fuzz" / "seeds" / "safetensors" / "two-tensors.safetensors");
        // The intact files open: every row below fails because of its one defect.
        core::TraceFile::open(write("intact.sptrace", m_trace).toStdString());
        core::SafetensorsFile::open(write("intact.safetensors", m_safetensors).toStdString());
    }

    void truncatedSafetensors_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        addTruncationRows(m_safetensors, "safetensors");
    }
    void truncatedSafetensors()
    {
        checkRow<FormatError>("input.safetensors", [](const std::string& p) { core::SafetensorsFile::open(p); });
    }

    void traceFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        addTruncationRows(m_trace, "trace");
        const QByteArray& t = m_trace;

        // Wrong magic: the first bytes are not a safetensors header length, or not a trace.
        QTest::newRow("magic: a PNG") << QByteArray("\x89PNG\r\n\x1a\n", 8) + t.mid(8)
                                      << "FILE: not a safetensors file (header length 727905341920923785 exceeds the 100 MB limit)";
        QTest::newRow("magic: header not JSON") << le64(8) + QByteArray("GIF89a  ")
                                                << "FILE: not a safetensors file (header is not a JSON object)";
        QTest::newRow("magic: not a trace")
            << withHeader(t, [](json& h) { h["__metadata__"].erase("format"); })
            << "FILE: not a SparseTrace trace (a safetensors file without \"format\": sparsetrace.trace metadata)";
        QTest::newRow("magic: future version") << withHeader(t, [](json& h) { h["__metadata__"]["format_version"] = "99"; })
                                               << "FILE: unsupported trace format version \"99\" (this build reads versions 1 to 2)";

        // Wrong dtype: a known one where another is expected, and an unknown one.
        QTest::newRow("dtype: I32 mass") << withHeader(t, [](json& h) { h["layers.1.mass"]["dtype"] = "I32"; })
                                         << "FILE: tensor layers.1.mass has dtype I32, expected F32";
        QTest::newRow("dtype: unknown") << withHeader(t, [](json& h) { h["token_ids"]["dtype"] = "F8_E4M3"; })
                                        << "FILE: tensor token_ids: unknown dtype \"F8_E4M3\"";

        // Shapes against byte ranges, checked before anything is allocated.
        QTest::newRow("shape: 10^12 elements") << withHeader(t, [](json& h) { h["token_ids"]["shape"] = {1000000000000LL}; })
                                               << "FILE: tensor token_ids: shape [1000000000000] of I32 needs 4000000000000 "
                                                  "bytes but data_offsets span 808";
        QTest::newRow("shape: overflows") << withHeader(t, [](json& h) { h["token_ids"]["shape"] = {1LL << 40, 1LL << 40}; })
                                          << "FILE: tensor token_ids: shape [1099511627776, 1099511627776] is too large";
        QTest::newRow("shape: empty but huge")
            << withHeader(t, [](json& h) { h["layer_dense"]["shape"] = {0, 1LL << 40, 1LL << 40}; })
            << "FILE: tensor layer_dense: shape [0, 1099511627776, 1099511627776] is too large";
        QTest::newRow("shape: negative") << withHeader(t, [](json& h) { h["token_ids"]["shape"] = {-202}; })
                                         << "FILE: tensor token_ids: shape holds a negative or non-integer extent";
        QTest::newRow("shape: not the trace's") << withHeader(t, [](json& h) {
            h["token_ids"]["shape"] = {101, 2};
        }) << "FILE: tensor token_ids has shape [101, 2], expected [202]";

        // Offsets.
        QTest::newRow("offsets: overlapping") << withHeader(t, [](json& h) { h["token_ids"]["data_offsets"] = {1600, 2408}; })
                                              << "FILE: tensors token_strings.offsets and token_ids overlap";
        QTest::newRow("offsets: overlap hidden by an empty tensor") << withHeader(t, [](json& h) {
            h["empty"] = {{"dtype", "U8"}, {"shape", {0}}, {"data_offsets", {10, 10}}};
            h["token_ids"]["data_offsets"] = {1000, 1808};
        }) << "FILE: tensors token_strings.offsets and token_ids overlap";
        QTest::newRow("offsets: reversed") << withHeader(t, [](json& h) { h["token_ids"]["data_offsets"] = {2432, 1624}; })
                                           << "FILE: tensor token_ids: data_offsets begin after they end";
        QTest::newRow("offsets: negative") << withHeader(t, [](json& h) { h["token_ids"]["data_offsets"] = {-8, 800}; })
                                           << "FILE: tensor token_ids: data_offsets are not non-negative integers";
        QTest::newRow("offsets: past the end") << withHeader(t, [](json& h) {
            h["layer_dense"]["data_offsets"] = {35093ULL + (1ULL << 62), 35096ULL + (1ULL << 62)};
        }) << "FILE: tensor layer_dense: data ends at byte 4611686018427423000 but the file holds 35096 data bytes (truncated?)";

        // Counts stated by the file.
        QTest::newRow("count: prompt tokens 10^12") << withHeader(t, [](json& h) {
            h["__metadata__"]["prompt_tokens"] = "1000000000000";
        }) << "FILE: tensor token_ids has shape [202], expected [1000000000002]";
        QTest::newRow("count: prompt tokens beyond 2^40") << withHeader(t, [](json& h) {
            h["__metadata__"]["prompt_tokens"] = "99999999999999";
        }) << "FILE: metadata \"prompt_tokens\" is not a valid count: \"99999999999999\"";
        QTest::newRow("count: no prompt") << withHeader(t, [](json& h) { h["__metadata__"]["prompt_tokens"] = "0"; })
                                          << "FILE: the trace has no prompt tokens";
        QTest::newRow("count: 10^6 layers") << withMetadata(t, "model", [](json& m) { m["layers"] = 1000000; })
                                            << "FILE: model: layers out of range";
        QTest::newRow("count: layers as a huge float") << withMetadata(t, "model", [](json& m) { m["layers"] = 1e300; })
                                                       << "FILE: model: \"layers\" has the wrong type or is out of range";
        QTest::newRow("count: window 2^30") << withMetadata(t, "params", [](json& p) { p["window"] = 1 << 30; })
                                            << "FILE: Stream-Attn parameters: window must be in [1, 16777216] tokens, got 1073741824";

        // Text.
        QTest::newRow("text: not UTF-8") << [&] {
            QByteArray b = t;
            const auto n = static_cast<qsizetype>(headerLength(t));
            b[8 + n + 33951 + 3] = '\xff'; // a byte of text.utf8 (data_offsets [33951, 35093])
            return b;
        }() << "FILE: text.utf8 is not valid UTF-8";
        QTest::newRow("text: offsets past the text") << [&] {
            QByteArray b = t;
            const auto n = static_cast<qsizetype>(headerLength(t));
            // token_offsets row 0 = (start, end) int32 at data_offsets 2432: end -> 1000000
            const char big[4] = {'\x40', '\x42', '\x0f', '\x00'};
            for (int i = 0; i < 4; ++i) b[8 + n + 2432 + 4 + i] = big[i];
            return b;
        }() << "FILE: token_offsets row 0 [0, 1000000] lies outside the text of 1142 characters";
    }
    void traceFiles()
    {
        checkRow<FormatError>("input.sptrace", [](const std::string& p) { core::TraceFile::open(p); });
    }

    void layerValues()
    {
        // Index values are validated when a layer is first viewed; the header was fine.
        QByteArray b = m_trace;
        const auto n = static_cast<qsizetype>(headerLength(b));
        b[8 + n + 13600 + 3] = '\x7f'; // layers.1.index[0] = 0x7f0000xx
        const QString path = write("bad-index.sptrace", b);
        auto trace = core::TraceFile::open(path.toStdString());
        trace->layer(0);
        const std::int32_t value = [&] {
            std::int32_t v;
            std::memcpy(&v, b.constData() + 8 + n + 13600, 4);
            return v;
        }();
        expectError<FormatError>([&] { trace->layer(1); },
                                 QString("FILE: layer 1 index value %1 is not a key block in [0, 26)").arg(value), path);
    }

    void configFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        const QByteArray llama = readBytes(test::fixturesDir() / "models" / "tiny-llama" / "config.json");
        auto with = [&](const std::function<void(json&)>& mutate) {
            json j = json::parse(llama.toStdString());
            mutate(j);
            return QByteArray::fromStdString(j.dump());
        };
        QTest::newRow("unknown architecture") << with([](json& j) { j["architectures"] = {"MambaForCausalLM"}; })
                                              << "FILE: key \"architectures\" names MambaForCausalLM; supported are "
                                                 "LlamaForCausalLM, Qwen2ForCausalLM and Gemma3ForCausalLM (text)";
        QTest::newRow("no architecture") << with([](json& j) {
            j.erase("architectures");
            j.erase("model_type");
        }) << "FILE: key \"architectures\" is missing";
        QTest::newRow("10^12 layers") << with([](json& j) { j["num_hidden_layers"] = 1000000000000LL; })
                                      << "FILE: key \"num_hidden_layers\" is 1000000000000; expected 1 to 1024";
        QTest::newRow("2^31 + 3 heads") << with([](json& j) { j["num_attention_heads"] = 2147483651LL; })
                                        << "FILE: key \"num_attention_heads\" is 2147483651; expected 1 to 1024";
        QTest::newRow("vocabulary 2^40") << with([](json& j) { j["vocab_size"] = 1LL << 40; })
                                         << "FILE: key \"vocab_size\" is 1099511627776; expected 1 to 16777216";
        QTest::newRow("vocabulary as a float") << with([](json& j) { j["vocab_size"] = 1e12; })
                                               << "FILE: key \"vocab_size\" must be an integer";
        QTest::newRow("no layers") << with([](json& j) { j["num_hidden_layers"] = 0; })
                                   << "FILE: key \"num_hidden_layers\" is 0; expected 1 to 1024";
        QTest::newRow("odd head_dim") << with([](json& j) { j["head_dim"] = 7; })
                                      << "FILE: key \"head_dim\" must be a positive even number up to 16384";
        QTest::newRow("not an object") << QByteArray("[1, 2]") << "FILE: not a JSON object";
        QTest::newRow("not UTF-8") << QByteArray("{\"architectures\": [\"Llama\xff\"]}")
                                   << "FILE: not valid JSON ([json.exception.parse_error.101] parse error at line 1, column 26: "
                                      "syntax error while parsing value - invalid string: ill-formed UTF-8 byte; last read: "
                                      "'\"Llama<FF>')";
    }
    void configFiles()
    {
        QDir().mkpath(m_tmp.filePath("model-config"));
        checkRow<ModelError>("model-config/config.json", [](const std::string& p) {
            core::ModelConfig::load(std::filesystem::path(p).parent_path().string());
        });
    }

    void tokenizerFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("sparse vocabulary") << QByteArray(R"({"model":{"type":"BPE","vocab":{"a":0,"b":268435455},"merges":[]}})")
                                           << "FILE: model.vocab is sparse: its largest id is 268435455 for 2 tokens";
        QTest::newRow("added token id as a float")
            << QByteArray(R"({"added_tokens":[{"id":1e300,"content":"<s>"}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})")
            << "FILE: an added token's \"id\" is not an integer near the vocabulary's 1 ids";
        QTest::newRow("added token id far away")
            << QByteArray(R"({"added_tokens":[{"id":2000000000,"content":"<s>"}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})")
            << "FILE: an added token's \"id\" is not an integer near the vocabulary's 1 ids";
        QTest::newRow("added token without content")
            << QByteArray(R"({"added_tokens":[{"id":0}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})")
            << "FILE: an added token lacks \"id\" or \"content\"";
        QTest::newRow("added token content a number")
            << QByteArray(R"({"added_tokens":[{"id":0,"content":7}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})")
            << "FILE: unexpected tokenizer.json structure ([json.exception.type_error.302] type must be string, but is number)";
        QTest::newRow("no model") << QByteArray(R"({"added_tokens":[]})") << "FILE: no \"model\" section";
    }
    void tokenizerFiles()
    {
        checkRow<FormatError>("tokenizer.json", [](const std::string& p) { core::Tokenizer::fromFile(p); });
    }

    void missingTokenizer()
    {
        const QString dir = m_tmp.filePath("no-tokenizer");
        QDir().mkpath(dir);
        expectError<ModelError>([&] { core::Tokenizer::fromModelDir(dir.toStdString()); },
                                "FILE: no tokenizer.json in the model folder", dir);
    }

    void textToEncode()
    {
        const auto tok = core::Tokenizer::fromFile(test::fixturesDir() / "tokenizer" / "byte-level-tiny.json");
        expectError<ArgumentError>([&] { tok.encode("caf\xc3"); }, "tokenizer: the text is not valid UTF-8");
        expectError<ArgumentError>([&] { tok.encode("\xed\xa0\x80 surrogate"); }, "tokenizer: the text is not valid UTF-8");
        QVERIFY(tok.encode("", false).ids.empty()); // the empty text is valid and has no tokens
    }

    void prompts_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("empty prompt") << QByteArray() << "the prompt is empty";
        QTest::newRow("non-UTF-8 prompt") << QByteArray("caf\xe9") << "the prompt is not valid UTF-8";
    }
    void prompts()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, expected);
        core::PromptSource source;
        source.text = text.toStdString();
        expectError<ArgumentError>([&] { core::resolvePrompt(source, m_tmp.path().toStdString()); }, expected);
    }

    void promptFiles()
    {
        core::PromptSource source;
        source.kind = core::PromptSource::Kind::TextFile;
        source.path = write("prompt.txt", QByteArray("na\xefve")).toStdString();
        expectError<ArgumentError>([&] { core::resolvePrompt(source, m_tmp.path().toStdString()); },
                                   "FILE: the text is not valid UTF-8", QString::fromStdString(source.path));
    }

    void labelFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not a list") << QByteArray(R"({"chunk": "x"})") << "FILE: expected a list of chunks";
        QTest::newRow("chunk not text") << QByteArray(R"([{"chunk": 3}])") << "FILE: chunk 0: \"chunk\" must be a string";
        QTest::newRow("index as a huge float") << QByteArray(R"([{"chunk": "a."}, {"chunk": "b.", "chunk_idx": 1e30}])")
                                               << "FILE: chunk 1: \"chunk_idx\" must be an integer";
        QTest::newRow("index beyond int") << QByteArray(R"([{"chunk": "a.", "chunk_idx": 4294967296}])")
                                          << "FILE: chunk 0: \"chunk_idx\" must be an integer";
        QTest::newRow("tags not text") << QByteArray(R"([{"chunk": "a.", "function_tags": [1]}])")
                                       << "FILE: chunk 0: \"function_tags\" must hold strings";
        QTest::newRow("not UTF-8") << QByteArray("[{\"chunk\": \"\xc3\"}]")
                                   << "FILE: not valid JSON ([json.exception.parse_error.101] parse error at line 1, column 14: "
                                      "syntax error while parsing value - invalid string: ill-formed UTF-8 byte; last read: "
                                      "'\"<C3>\"')";
    }
    void labelFiles()
    {
        checkRow<FormatError>("chunks_labeled.json", [](const std::string& p) { core::readChunkLabels(p); });
    }

    void sweepFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        core::NiahSweepSpec spec;
        spec.model = "tiny";
        spec.haystack = "noise";
        spec.lengths = {64, 128};
        spec.depths = {0, 100};
        spec.ks = {2};
        const json table = core::NiahTable(spec).toJson();
        auto with = [&](const std::function<void(json&)>& mutate) {
            json j = table;
            mutate(j);
            return QByteArray::fromStdString(j.dump());
        };
        QTest::newRow("wrong format") << with([](json& j) { j["format"] = "csv"; })
                                      << "FILE: not a SparseTrace NIAH table (format \"sparsetrace.niah-table\")";
        QTest::newRow("length as a huge float") << with([](json& j) { j["spec"]["lengths"] = {64, 1e300}; })
                                                << "FILE: spec: \"lengths\" has the wrong type or is out of range";
        QTest::newRow("K beyond int") << with([](json& j) { j["spec"]["ks"] = {4294967298LL}; })
                                      << "FILE: spec: \"ks\" has the wrong type or is out of range";
        QTest::newRow("cell outside the grid") << with([](json& j) {
            core::NiahCellResult r;
            r.cell = {7, 64, 0, 2};
            j["cells"] = {r.toJson()};
        }) << "FILE: cell 0: NIAH cell 7 out of range (4 cells)";
        QTest::newRow("cell index negative") << with([](json& j) {
            core::NiahCellResult r;
            j["cells"] = {r.toJson()};
            j["cells"][0]["index"] = -1;
        }) << "FILE: cell 0: \"index\" has the wrong type or is out of range";
        QTest::newRow("not UTF-8") << QByteArray("{\"format\": \"\xff\"}")
                                   << "FILE: not valid JSON ([json.exception.parse_error.101] parse error at line 1, column 13: "
                                      "syntax error while parsing value - invalid string: ill-formed UTF-8 byte; last read: "
                                      "'\"<FF>')";
    }
    void sweepFiles()
    {
        checkRow<FormatError>("niah.json", [](const std::string& p) { core::NiahTable::readJson(p); });
    }
};

QTEST_GUILESS_MAIN(TestMalformedInputs)
#include "tst_malformed_inputs.moc"
