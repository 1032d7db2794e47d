@testable import Attendance
import XCTest

final class IdentifierTests: XCTestCase {
    func testValidation() {
        XCTAssertTrue(Identifier.isValid("s1"))
        XCTAssertTrue(Identifier.isValid("A-z_0.9:x"))
        XCTAssertTrue(Identifier.isValid("ada@school.example"))
        XCTAssertFalse(Identifier.isValid("@ada"), "a leading @ reads as a formula in a spreadsheet")
        XCTAssertTrue(Identifier.isValid(String(repeating: "a", count: 64)))
        XCTAssertFalse(Identifier.isValid(String(repeating: "a", count: 65)))
        XCTAssertFalse(Identifier.isValid(""))
        for bad in ["a b", "a{b", "a}b", "a/b", "é", "a\"b", "a\nb", "a,b"] {
            XCTAssertFalse(Identifier.isValid(bad), bad)
        }
    }

    func testNewClassIdShape() {
        let ids = (0..<200).map { _ in Identifier.newClassId() }
        for id in ids {
            XCTAssertTrue(id.hasPrefix("c_"))
            XCTAssertEqual(id.count, 12)
            XCTAssertTrue(Identifier.isValid(id))
            XCTAssertTrue(id.dropFirst(2).allSatisfy { "abcdefghijklmnopqrstuvwxyz234567".contains($0) }, id)
        }
        XCTAssertEqual(Set(ids).count, ids.count)
    }

    func testJoinCodes() {
        for _ in 0..<500 {
            let code = JoinCode.random()
            XCTAssertTrue(JoinCode.isWellFormed(code), code)
        }
        XCTAssertTrue(JoinCode.isWellFormed("000123"))
        XCTAssertFalse(JoinCode.isWellFormed("12345"))
        XCTAssertFalse(JoinCode.isWellFormed("1234567"))
        XCTAssertFalse(JoinCode.isWellFormed("12345a"))
        XCTAssertFalse(JoinCode.isWellFormed("١٢٣٤٥٦")) // non-ASCII digits
    }
}
