import XCTest
@testable import WebSocket

final class UTF8ValidatorTests: XCTestCase {
    private func valid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { UTF8Validator.isValid($0) } }

    /// The reference: the standard library's own validation.
    private func reference(_ bytes: [UInt8]) -> Bool { String(validating: bytes, as: UTF8.self) != nil }

    func testValidSequences() {
        let samples: [[UInt8]] = [
            [], Array("hello, world".utf8), [0x7F],
            [0xC2, 0x80], [0xDF, 0xBF],                       // 2 bytes
            [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF],  // 3 bytes
            [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],  // 4 bytes, U+10000 and U+10FFFF
            Array("κόσμε – 日本語 – 🎉".utf8),
        ]
        for s in samples { XCTAssertTrue(valid(s), "\(s)") }
    }

    func testInvalidSequences() {
        let samples: [[UInt8]] = [
            [0x80], [0xBF], [0xFF], [0xFE],
            [0xC0, 0x80], [0xC1, 0xBF],                       // overlong 2-byte
            [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],           // overlong 3-byte
            [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], // overlong 4-byte
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],           // surrogates D800, DFFF
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], // above U+10FFFF
            [0xC2], [0xE0, 0xA0], [0xF0, 0x90, 0x80],         // truncated at the end
            [0xC2, 0x41], [0xE1, 0x80, 0x41],                 // continuation missing mid-stream
            Array("valid then ".utf8) + [0xC0, 0xAF],
        ]
        for s in samples { XCTAssertFalse(valid(s), "\(s)") }
    }

    /// Every sequence of one, two and three bytes, and every four-byte sequence from a set of bytes
    /// covering each class boundary, agree with the standard library.
    func testAgreesWithStandardLibrary() {
        for a in 0...255 { XCTAssertEqual(valid([UInt8(a)]), reference([UInt8(a)])) }
        for a in 0...255 {
            for b in 0...255 {
                let s: [UInt8] = [UInt8(a), UInt8(b)]
                if valid(s) != reference(s) { XCTFail("\(s)"); return }
            }
        }
        for a in 0xC0...0xFF {
            for b in 0...255 {
                for c in [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF] {
                    let s: [UInt8] = [UInt8(a), UInt8(b), UInt8(c)]
                    if valid(s) != reference(s) { XCTFail("\(s)"); return }
                }
            }
        }
        let edges: [UInt8] = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xED, 0xEF,
                              0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for a in edges { for b in edges { for c in edges { for d in edges {
            let s = [a, b, c, d]
            if valid(s) != reference(s) { XCTFail("\(s)"); return }
        } } } }
    }

    func testEverySplitGivesTheSameAnswer() {
        let samples: [[UInt8]] = [
            Array("aé日🎉zz€𝄞".utf8), [0xF0, 0x9F, 0x8E, 0x89], [0xED, 0xA0, 0x80], [0xE0, 0x80, 0xAF],
            [0xF4, 0x90, 0x80, 0x80], Array("abc".utf8) + [0xF0, 0x9F, 0x8E],
            Array("0123456789abcdef0123456789".utf8) + [0xC3, 0xA9] + Array("0123456789abcdef".utf8),
        ]
        for s in samples {
            let whole = valid(s)
            for i in 0...s.count {
                for j in i...s.count {
                    var v = UTF8Validator()
                    s[..<i].withUnsafeBytes { _ = v.feed($0) }
                    s[i..<j].withUnsafeBytes { _ = v.feed($0) }
                    s[j...].withUnsafeBytes { _ = v.feed($0) }
                    XCTAssertEqual(v.isComplete, whole, "\(s) split at \(i), \(j)")
                }
            }
        }
    }

    func testRejectIsSticky() {
        var v = UTF8Validator()
        XCTAssertFalse([UInt8(0xFF)].withUnsafeBytes { v.feed($0) })
        XCTAssertFalse(Array("ok".utf8).withUnsafeBytes { v.feed($0) })
        XCTAssertFalse(v.isComplete)
    }
}
