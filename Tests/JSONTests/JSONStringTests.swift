import JSON
import XCTest

final class JSONStringTests: XCTestCase {
    func testEscapes() throws {
        XCTAssertEqual(try JSON.parse(#""\"\\\/\b\f\n\r\t""#), .string("\"\\/\u{8}\u{C}\n\r\t"))
        XCTAssertEqual(try JSON.parse(#""\u0041\u00e9\u20AC\uFFFF""#), .string("Aé€\u{FFFF}"))
        XCTAssertEqual(try JSON.parse(#""a\u0000b""#), .string("a\u{0}b"))
        XCTAssertEqual(try JSON.parse(#""\uD83D\uDE00 \ud834\udd1e""#), .string("😀 𝄞"))
        XCTAssertEqual(try JSON.parse(#""\uDBFF\uDFFF""#), .string("\u{10FFFF}"))
        XCTAssertEqual(try JSON.parse(#""\uD800\uDC00""#), .string("\u{10000}"))
        XCTAssertEqual(try JSON.parse(#""é\n😀 mixed \u00e9""#), .string("é\n😀 mixed é"))
        XCTAssertEqual(try JSON.parse(#"{"k\"ey":"v"}"#)["k\"ey"], "v")
    }

    func testRawUTF8OfEveryLength() throws {
        for text in ["é", "€", "😀", "\u{7FF}", "\u{800}", "\u{FFFD}", "\u{10000}", "\u{10FFFF}", "Zürich ✓ 𝄞 日本語", "\u{7F}"] {
            XCTAssertEqual(try JSON.parse("\"\(text)\""), .string(text))
        }
    }

    func testEscapesAndUTF8AreRejectedPrecisely() {
        assertRejected(#""\x41""#, at: 1, "invalid escape")
        assertRejected(#""\'""#, at: 1, "invalid escape")
        assertRejected(#""\U0041""#, at: 1, "invalid escape")
        assertRejected("\"\\\u{9}\"", at: 1, "invalid escape")
        assertRejected(#""\u12G4""#, at: 1, "invalid \\u escape")
        assertRejected(#""\u12""#, at: 1, "invalid \\u escape")
        assertRejected(#""\u"#, at: 1, "invalid \\u escape")
        assertRejected(#""\"#, at: 2, "unterminated string")
        assertRejected(#""abc"#, at: 4, "unterminated string")
        assertRejected(#"["abcdefghijklmnop"#, at: 18, "unterminated string")
        assertRejected(#""\uD800""#, at: 1, "lone or invalid surrogate in \\u escape")
        assertRejected(#""x\uD800\u0041""#, at: 2, "lone or invalid surrogate in \\u escape")
        assertRejected(#""\uD800\uD800""#, at: 1, "lone or invalid surrogate in \\u escape")
        assertRejected(#""\uDC00\uD800""#, at: 1, "lone or invalid surrogate in \\u escape")
        assertRejected(#""\uDFFF""#, at: 1, "lone or invalid surrogate in \\u escape")
        assertRejected(#""\uD800\n""#, at: 1, "lone or invalid surrogate in \\u escape")
        assertRejected(#""\uD800\u""#, at: 1, "lone or invalid surrogate in \\u escape")
        assertRejected("\"a\u{1}\"", at: 2, "unescaped control character in string")
        assertRejected("\"a\nb\"", at: 2, "unescaped control character in string")
        assertRejected("\"\u{0}\"", at: 1, "unescaped control character in string")
        assertRejected("\"abcdefghijklmno\tp\"", at: 16, "unescaped control character in string")

        let invalidUTF8: [[UInt8]] = [
            [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xC2], [0xC2, 0x41], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xE2, 0x82], [0xE2, 0x82, 0x41], [0xF0, 0x80, 0x80, 0x80],
            [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xF0, 0x9F, 0x98],
            [0xFE], [0xFF], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80],
        ]
        for bad in invalidUTF8 {
            // Inside a string, at the start and after enough ASCII that the word-at-a-time scan runs first.
            assertRejected([0x22] + bad + [0x22], at: 1, "invalid UTF-8")
            assertRejected(Array("\"0123456789abcdef".utf8) + bad + [0x22], at: 17, "invalid UTF-8")
            assertRejected(Array(#"{"k":1,""#.utf8) + bad + Array(#"":2}"#.utf8), at: 8, "invalid UTF-8")
            XCTAssertNil(String(validating: bad, as: UTF8.self), "the standard library agrees \(bad) is malformed")
        }
    }

    /// Puts each kind of byte the word-at-a-time scan must stop at into every position of strings
    /// long enough to span several words.
    func testSpecialBytesAtEveryPosition() throws {
        for length in 0...40 {
            for position in 0..<max(length, 1) {
                let plain = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
                func body(_ replacement: [UInt8]) -> [UInt8] {
                    guard length > 0 else { return replacement }
                    var bytes = plain
                    bytes.replaceSubrange(position...position, with: replacement)
                    return bytes
                }
                let expected = { (replacement: String) -> String in
                    String(decoding: body(Array(replacement.utf8)), as: UTF8.self)
                }
                XCTAssertEqual(try JSON.parse([0x22] + plain + [0x22]), .string(String(decoding: plain, as: UTF8.self)))
                XCTAssertEqual(try JSON.parse([0x22] + body(Array(#"\n"#.utf8)) + [0x22]), .string(expected("\n")))
                XCTAssertEqual(try JSON.parse([0x22] + body(Array(#"\""#.utf8)) + [0x22]), .string(expected("\"")))
                XCTAssertEqual(try JSON.parse([0x22] + body(Array("é".utf8)) + [0x22]), .string(expected("é")))
                XCTAssertEqual(try JSON.parse([0x22] + body(Array("😀".utf8)) + [0x22]), .string(expected("😀")))
                XCTAssertEqual(try JSON.parse([0x22] + body([0x7F]) + [0x22]), .string(expected("\u{7F}")))
                assertRejected([0x22] + body([0x1F]) + [0x22], at: 1 + position, "unescaped control character in string")
                assertRejected([0x22] + body([0xFF]) + [0x22], at: 1 + position, "invalid UTF-8")
                // A quote in the middle ends the string early: whatever follows is not a valid document.
                if length > 1 && position < length - 1 {
                    XCTAssertNotNil(parseError([0x22] + body([0x22]) + [0x22]))
                }
            }
        }
    }
}
