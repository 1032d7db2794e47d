import Attendance
import XCTest

final class PasswordHashTests: XCTestCase {
    private func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    /// RFC 7914 §12, the first two vectors: proves the EVP_KDF call passes password, salt, N, r and p right.
    func testScryptMatchesRFC7914Vectors() {
        XCTAssertEqual(PasswordHash.scrypt(password: [], salt: [], n: 16, r: 1, p: 1, length: 64), hex("""
            77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42
            fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06
            """))
        XCTAssertEqual(PasswordHash.scrypt(password: Array("password".utf8), salt: Array("NaCl".utf8), n: 1024, r: 8, p: 16, length: 64), hex("""
            fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
            2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40
            """))
    }

    func testStoredHashCarriesItsParametersAndVerifies() {
        let stored = PasswordHash.make("correct horse battery")
        let parts = stored.split(separator: "$")
        XCTAssertEqual(Array(parts.prefix(4)), ["scrypt", "15", "8", "1"])
        XCTAssertEqual(Base64URL.decode(parts[4])?.count, 16, "16-byte salt")
        XCTAssertEqual(Base64URL.decode(parts[5])?.count, 32)
        XCTAssertTrue(PasswordHash.verify("correct horse battery", stored: stored))
        XCTAssertFalse(PasswordHash.verify("correct horse batterY", stored: stored))
        XCTAssertNotEqual(PasswordHash.make("correct horse battery"), stored, "a fresh salt each time")
    }

    func testOlderParametersStillVerifyAndTamperedOnesAreRefused() {
        // A hash made with other (cheaper) parameters verifies with the ones it names.
        let salt = Array("0123456789abcdef".utf8)
        let hash = PasswordHash.scrypt(password: Array("a long password".utf8), salt: salt, n: 1 << 10, r: 8, p: 1, length: 32)!
        let stored = "scrypt$10$8$1$\(Base64URL.encode(salt))$\(Base64URL.encode(hash))"
        XCTAssertTrue(PasswordHash.verify("a long password", stored: stored))
        for bad in ["", "scrypt$30$8$1$\(Base64URL.encode(salt))$\(Base64URL.encode(hash))",
                    "bcrypt$10$8$1$\(Base64URL.encode(salt))$\(Base64URL.encode(hash))",
                    "scrypt$10$8$1$!!$\(Base64URL.encode(hash))", "scrypt$10$8$1$\(Base64URL.encode(salt))$"] {
            XCTAssertFalse(PasswordHash.verify("a long password", stored: bad), bad)
        }
        XCTAssertFalse(PasswordHash.verify("anything", stored: PasswordHash.dummy))
    }
}
