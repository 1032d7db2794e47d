@testable import Attendance
import XCTest

final class CryptoTests: XCTestCase {
    func testHMACSHA256MatchesRFC4231() {
        // RFC 4231 test case 2.
        let mac = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: "what do ya want for nothing?")
        XCTAssertEqual(mac.map { String(format: "%02x", $0) }.joined(),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(Crypto.hmacSHA256(key: [], message: "").count, 32)
    }

    func testBase64URLRoundTripsEveryLength() {
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 250) }
            let encoded = Base64URL.encode(bytes)
            XCTAssertFalse(encoded.contains("="))
            XCTAssertFalse(encoded.contains("+") || encoded.contains("/"))
            XCTAssertEqual(Base64URL.decode(encoded), bytes, "length \(length)")
        }
        XCTAssertEqual(Base64URL.encode(Array("hello?>".utf8)), "aGVsbG8_Pg")
        XCTAssertEqual(Base64URL.decode("-_8"), [0xfb, 0xff])
    }

    func testBase64URLDecodeIsStrict() {
        XCTAssertNil(Base64URL.decode("aGVsbG8=")) // padding
        XCTAssertNil(Base64URL.decode("aGV sbG8")) // space
        XCTAssertNil(Base64URL.decode("aGV+bG8")) // standard alphabet
        XCTAssertNil(Base64URL.decode("a")) // impossible length
        XCTAssertNil(Base64URL.decode("aGVsbG9")) // non-zero unused bits ("aGVsbG8" is canonical)
        XCTAssertEqual(Base64URL.decode(""), [])
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(Crypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(Crypto.constantTimeEqual([1, 2, 3], [1, 2]))
        XCTAssertTrue(Crypto.constantTimeEqual([UInt8](), [UInt8]()))
    }

    func testRandomBytesDiffer() {
        XCTAssertEqual(Crypto.randomBytes(16).count, 16)
        XCTAssertNotEqual(Crypto.randomBytes(16), Crypto.randomBytes(16))
    }
}
