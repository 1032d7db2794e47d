@testable import Attendance
import XCTest

final class JoinLinkTests: XCTestCase {
    let key = Array("dev-qr-key-change-me".utf8)

    func testValidAndExpired() {
        let token = JoinLink.makeToken(classId: "c_abc.d", expiresS: 1000, key: key)
        XCTAssertEqual(JoinLink.path(token: token), "/j/" + token)
        XCTAssertTrue(token.utf8.allSatisfy { Identifier.isAllowed($0) }, "URL-safe without escaping")
        XCTAssertEqual(JoinLink.verify(token, key: key, nowS: 999), .success("c_abc.d"))
        XCTAssertEqual(JoinLink.verify(token, key: key, nowS: 1000), .failure(.expired))
    }

    func testForgedAndMalformed() {
        let token = JoinLink.makeToken(classId: "c_abc", expiresS: 1000, key: key)
        XCTAssertEqual(JoinLink.verify(token, key: Array("other".utf8), nowS: 0), .failure(.invalid))
        // Moving the expiry without the key.
        let parts = token.split(separator: ".")
        let extended = Base64URL.encode(Array("c_abc.999999".utf8)) + "." + parts[1]
        XCTAssertEqual(JoinLink.verify(extended, key: key, nowS: 0), .failure(.invalid))
        // A QR MAC made with the same key does not pass as a link MAC (domain separation).
        let qrMac = Base64URL.encode(Crypto.hmacSHA256(key: key, message: "c_abc.1000").prefix(16))
        XCTAssertEqual(JoinLink.verify(parts[0] + "." + qrMac, key: key, nowS: 0), .failure(.invalid))
        for bad in ["", ".", "abc", "abc.", ".abc", "!!.!!", String(repeating: "a", count: 300) + "." + parts[1]] {
            XCTAssertEqual(JoinLink.verify(bad, key: key, nowS: 0), .failure(.invalid), bad)
        }
    }
}
