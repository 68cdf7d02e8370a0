// safetensors container: round trip, layout compatible with the reference implementation, and
// every malformed-file case rejected with a message naming what is wrong.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/error.h"
#include "sparsetrace/core/safetensors.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

using namespace sparsetrace;
using namespace sparsetrace::core;

class TstSafetensors : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    std::string path(const char* name) const { return (m_dir.path() + "/" + name).toStdString(); }

    void writeBytes(const std::string& p, const std::string& bytes)
    {
        std::ofstream out(p, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    // A file made of a header JSON text and `dataBytes` zero bytes.
    std::string withHeader(const std::string& json, std::size_t dataBytes)
    {
        std::string s(8, '\0');
        std::uint64_t n = json.size();
        std::memcpy(s.data(), &n, 8);
        return s + json + std::string(dataBytes, '\x01');
    }
    void expectFormatError(const std::string& file, const char* fragment)
    {
        try {
            SafetensorsFile::open(file);
            QFAIL(("no error for " + file).c_str());
        } catch (const FormatError& e) {
            const std::string msg = e.what();
            QVERIFY2(msg.find(file) != std::string::npos, msg.c_str());
            QVERIFY2(msg.find(fragment) != std::string::npos, msg.c_str());
        }
    }

private slots:
    void roundTrip()
    {
        std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 1e-7f, 42.0f};
        std::vector<std::int32_t> b = {7, -1, 3};
        std::vector<std::uint8_t> c = {1, 2, 3, 4, 5};
        std::vector<double> d = {3.141592653589793};
        SafetensorsWriter w;
        w.setMetadata("hello", "world");
        w.add<std::uint8_t>("c", {5}, c); // 1-byte first: the writer must still align the others
        w.add<float>("a", {2, 3}, a);
        w.add<std::int32_t>("b", {3}, b);
        w.add<double>("d", {1}, d);
        const std::string p = path("rt.safetensors");
        w.write(p);

        SafetensorsFile f = SafetensorsFile::open(p);
        QCOMPARE(f.metadataValue("hello"), std::string("world"));
        QCOMPARE(f.tensors().size(), std::size_t(4));
        QCOMPARE(f.copy<float>("a"), a);
        QCOMPARE(f.copy<std::int32_t>("b"), b);
        QCOMPARE(f.copy<std::uint8_t>("c"), c);
        QCOMPARE(f.copy<double>("d"), d);
        QCOMPARE(f.at("a").shape, (std::vector<std::int64_t>{2, 3}));
        // Every tensor is aligned to its element size once mapped.
        for (const auto& t : f.tensors())
            QVERIFY(reinterpret_cast<std::uintptr_t>(f.data(t).data()) % dtypeSize(t.dtype) == 0);
        // Tensors tile the data region with no gap (the reference reader requires it).
        std::uint64_t end = 0;
        for (const auto& t : f.tensors()) {
            QCOMPARE(t.begin, end);
            end = t.end;
        }
        // toBytes() and write() agree.
        std::ifstream in(p, std::ios::binary);
        std::vector<char> onDisk{std::istreambuf_iterator<char>(in), {}};
        auto mem = w.toBytes();
        QCOMPARE(onDisk.size(), mem.size());
        QVERIFY(std::memcmp(onDisk.data(), mem.data(), mem.size()) == 0);
    }

    void expectChecksDtypeAndShape()
    {
        std::vector<float> a(6, 1.0f);
        SafetensorsWriter w;
        w.add<float>("a", {2, 3}, a);
        const std::string p = path("expect.safetensors");
        w.write(p);
        SafetensorsFile f = SafetensorsFile::open(p);
        f.expect("a", DType::F32, {2, -1});
        QVERIFY_THROWS_EXCEPTION(FormatError, f.expect("a", DType::I32));
        try {
            f.expect("a", DType::F32, {3, 2});
            QFAIL("no error");
        } catch (const FormatError& e) {
            QVERIFY(std::string(e.what()).find("has shape [2, 3], expected [3, 2]") != std::string::npos);
        }
        try {
            f.at("missing");
            QFAIL("no error");
        } catch (const FormatError& e) {
            QVERIFY(std::string(e.what()).find("tensor missing is missing") != std::string::npos);
        }
    }

    void writerRejectsSizeMismatch()
    {
        std::vector<float> a(5);
        SafetensorsWriter w;
        QVERIFY_THROWS_EXCEPTION(ArgumentError, w.add<float>("a", {2, 3}, a));
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("fragment");
        auto header = [this](const std::string& json, std::size_t data) {
            return QByteArray::fromStdString(withHeader(json, data));
        };
        QTest::newRow("empty") << QByteArray() << "shorter than its 8-byte header length";
        QTest::newRow("huge header length") << QByteArray("\xff\xff\xff\xff\xff\xff\x00\x00{}", 10)
                                            << "exceeds the 100 MB limit";
        QTest::newRow("header past end") << QByteArray("\x40\x00\x00\x00\x00\x00\x00\x00{}", 10) << "truncated";
        QTest::newRow("not json") << header("{\"a\": [1, 2", 0) << "invalid JSON";
        QTest::newRow("not an object") << header("[1, 2, 3]  ", 0) << "not a JSON object";
        QTest::newRow("unknown dtype")
            << header(R"({"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", 4) << "unknown dtype";
        QTest::newRow("negative shape")
            << header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4) << "negative";
        QTest::newRow("shape vs bytes")
            << header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8) << "needs 12 bytes";
        QTest::newRow("past the data")
            << header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8) << "truncated";
        QTest::newRow("reversed offsets")
            << header(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8) << "begin after they end";
        QTest::newRow("overlap")
            << header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)
            << "overlap";
        QTest::newRow("giant tensor")
            << header(R"({"a":{"dtype":"F32","shape":[10000000,10000000,10000000],"data_offsets":[0,4]}})", 4) << "too large";
        QTest::newRow("metadata not string")
            << header(R"({"__metadata__":{"x":1}})", 0) << "is not a string";
        QTest::newRow("missing offsets") << header(R"({"a":{"dtype":"F32","shape":[1]}})", 4) << "missing data_offsets";
    }
    void malformed()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, fragment);
        const std::string p = path("bad.safetensors");
        writeBytes(p, bytes.toStdString());
        expectFormatError(p, fragment.toStdString().c_str());
    }

    void missingFileIsIoError()
    {
        QVERIFY_THROWS_EXCEPTION(IoError, SafetensorsFile::open(path("does-not-exist.safetensors")));
    }
};

QTEST_GUILESS_MAIN(TstSafetensors)
#include "tst_safetensors.moc"
