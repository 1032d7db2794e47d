@testable import Attendance
import XCTest

final class QRTokenTests: XCTestCase {
    let key = Array("dev-qr-key-change-me".utf8)
    let period = 15
    // The start of a window: 1_732_540_005_000 ms / 15 s.
    let windowStartMs: Int64 = 115_502_667 * 15_000

    func token(_ classId: String, window: Int64) -> String { QRToken.make(classId: classId, window: window, key: key) }

    func verify(_ qr: String, classId: String = "c_8f2k", at nowMs: Int64) -> QRToken.Verification {
        QRToken.verify(qr, classId: classId, periodS: period, nowMs: nowMs, key: key)
    }

    func testFormatMatchesProtocol() {
        let qr = token("c_8f2k", window: 115_502_666)
        let parts = qr.split(separator: ".")
        XCTAssertEqual(parts.count, 3)
        XCTAssertEqual(parts[0], "c_8f2k")
        XCTAssertEqual(parts[1], "115502666")
        let expected = Crypto.hmacSHA256(key: key, message: "c_8f2k.115502666").prefix(16)
        XCTAssertEqual(Base64URL.decode(String(parts[2])), Array(expected))
        XCTAssertEqual(parts[2].count, 22)
    }

    func testCurrentAndExpiry() {
        let now = windowStartMs + 4_000
        let current = QRToken.current(classId: "c_8f2k", periodS: period, nowMs: now, key: key)
        XCTAssertEqual(current.qr, token("c_8f2k", window: windowStartMs / 15_000))
        XCTAssertEqual(current.expiresMs, windowStartMs + 15_000)
        XCTAssertEqual(verify(current.qr, at: now), .ok)
    }

    func testWindowEdges() {
        let w = windowStartMs / 15_000
        // Current window, from its first to its last millisecond.
        XCTAssertEqual(verify(token("c_8f2k", window: w), at: windowStartMs), .ok)
        XCTAssertEqual(verify(token("c_8f2k", window: w), at: windowStartMs + 14_999), .ok)
        // The previous window is still accepted for the whole current window.
        XCTAssertEqual(verify(token("c_8f2k", window: w - 1), at: windowStartMs + 14_999), .ok)
        // Two windows back is expired, from the first millisecond.
        XCTAssertEqual(verify(token("c_8f2k", window: w - 2), at: windowStartMs), .expired)
        XCTAssertEqual(verify(token("c_8f2k", window: 1), at: windowStartMs), .expired)
        // The next window: only within 2 s of its start.
        XCTAssertEqual(verify(token("c_8f2k", window: w + 1), at: windowStartMs + 13_000), .ok)
        XCTAssertEqual(verify(token("c_8f2k", window: w + 1), at: windowStartMs + 12_999), .invalid)
        XCTAssertEqual(verify(token("c_8f2k", window: w + 2), at: windowStartMs + 14_999), .invalid)
    }

    func testForgedWrongClassAndMalformed() {
        let w = windowStartMs / 15_000
        let good = token("c_8f2k", window: w)
        var mac = Array(good.utf8.suffix(22))
        mac[3] = mac[3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertEqual(verify("c_8f2k.\(w)." + String(decoding: mac, as: UTF8.self), at: windowStartMs), .invalid)
        // An old window with a forged MAC is invalid, not expired.
        XCTAssertEqual(verify("c_8f2k.\(w - 5)." + String(decoding: mac, as: UTF8.self), at: windowStartMs), .invalid)
        XCTAssertEqual(verify(token("c_other", window: w), at: windowStartMs), .invalid)
        XCTAssertEqual(verify(good, classId: "c_other", at: windowStartMs), .invalid)
        let otherKey = QRToken.make(classId: "c_8f2k", window: w, key: Array("other".utf8))
        XCTAssertEqual(verify(otherKey, at: windowStartMs), .invalid)
        let goodMac = String(good.split(separator: ".")[2])
        for bad in ["", ".", "..", "c_8f2k..\(goodMac)", "c_8f2k.\(w).", ".\(w).\(goodMac)", "c_8f2k.+\(w).\(goodMac)",
                    "c_8f2k.0\(w).\(goodMac)", "c_8f2k.-\(w).\(goodMac)", "c_8f2k.\(w).\(goodMac)=", "c_8f2k.\(w).\(goodMac)A",
                    "c 8f2k.\(w).\(goodMac)", "c_8f2k.99999999999999999999.\(goodMac)", String(repeating: "a", count: 300)] {
            XCTAssertEqual(verify(bad, at: windowStartMs), .invalid, bad)
        }
    }

    func testClassIdsWithDotsParseAtTheLastTwoDots() {
        let qr = token("room.101.a", window: 7)
        XCTAssertEqual(QRToken.parse(qr)?.classId, "room.101.a")
        XCTAssertEqual(QRToken.parse(qr)?.window, 7)
        XCTAssertEqual(QRToken.verify(qr, classId: "room.101.a", periodS: 15, nowMs: 7 * 15_000, key: key), .ok)
    }
}
