// UTF-8 validation and code point offsets.
// SPDX-License-Identifier: GPL-3.0-or-later
#include "sparsetrace/core/utf8.h"

#include <QtTest>

using namespace sparsetrace::core;

class TstUtf8 : public QObject {
    Q_OBJECT
private slots:
    void validity_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<bool>("valid");
        QTest::newRow("ascii") << QByteArray("hello") << true;
        QTest::newRow("2-byte") << QByteArray("\xC3\xA9") << true;
        QTest::newRow("4-byte emoji") << QByteArray("\xF0\x9F\x99\x82") << true;
        QTest::newRow("lone continuation") << QByteArray("\x80") << false;
        QTest::newRow("overlong slash") << QByteArray("\xC0\xAF") << false;
        QTest::newRow("surrogate") << QByteArray("\xED\xA0\x80") << false;
        QTest::newRow("beyond U+10FFFF") << QByteArray("\xF4\x90\x80\x80") << false;
        QTest::newRow("truncated") << QByteArray("\xE2\x82") << false;
    }
    void validity()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(bool, valid);
        QCOMPARE(isValidUtf8(std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size()))), valid);
    }
    void codePoints()
    {
        std::string s = "a\xC3\xA9\xF0\x9F\x99\x82z";
        QCOMPARE(codePointCount(s), std::size_t(4));
        auto offsets = codePointByteOffsets(s);
        QCOMPARE(offsets, (std::vector<std::size_t>{0, 1, 3, 7, 8}));
        std::size_t i = 1;
        QCOMPARE(decodeUtf8(s, i), char32_t(0xE9));
        QCOMPARE(i, std::size_t(3));
        std::string out;
        for (char32_t cp : {char32_t('a'), char32_t(0xE9), char32_t(0x1F642), char32_t('z')}) appendUtf8(out, cp);
        QCOMPARE(out, s);
    }
};

QTEST_GUILESS_MAIN(TstUtf8)
#include "tst_utf8.moc"
