import JSON
import XCTest

final class JSONConformanceTests: XCTestCase {
    func testAcceptedCasesParseAndRoundTrip() throws {
        XCTAssertEqual(JSONTestSuite.accepted.count, 100)
        for (name, bytes) in JSONTestSuite.accepted {
            do {
                let value = try parseExactBuffer(bytes)
                XCTAssertEqual(try JSON.parse(value.serialized()), value, name)
            } catch {
                XCTFail("\(name): \(error)")
            }
        }
    }

    func testRejectedCasesThrowWithAnOffsetInsideTheInput() {
        XCTAssertEqual(JSONTestSuite.rejected.count, 215)
        for (name, bytes) in JSONTestSuite.rejected {
            let error: JSONError
            do {
                _ = try parseExactBuffer(bytes)
                XCTFail("\(name) was accepted")
                continue
            } catch let thrown {
                error = thrown
            }
            XCTAssertTrue((0...bytes.count).contains(error.offset), "\(name): \(error)")
        }
    }

    func testGeneratedDeepCases() {
        let openArrays = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        XCTAssertEqual(parseError(openArrays), JSONError(offset: 64, reason: "nesting too deep"))
        // Without a depth limit the parser still does not recurse: it reads to the end and stops there.
        XCTAssertEqual(parseError(openArrays, maxDepth: .max), JSONError(offset: 100_000, reason: "unexpected end of input"))

        let openObjects = Array((String(repeating: "[{\"\":", count: 50_000) + "\n").utf8)
        XCTAssertEqual(parseError(openObjects)?.reason, "nesting too deep")
        XCTAssertEqual(parseError(openObjects, maxDepth: .max)?.reason, "unexpected end of input")

        let nested500 = Array((String(repeating: "[", count: 500) + String(repeating: "]", count: 500)).utf8)
        XCTAssertEqual(parseError(nested500), JSONError(offset: 64, reason: "nesting too deep"))
        XCTAssertNil(parseError(nested500, maxDepth: 500))
    }

    func testImplementationDefinedChoices() throws {
        XCTAssertEqual(try JSON.parse("[123.456e-789]"), [0.0])
        XCTAssertEqual(try JSON.parse("[123e-10000000]"), [0.0])
        XCTAssertEqual(try JSON.parse("[100000000000000000000]"), [1e20])
        XCTAssertEqual(try JSON.parse("[-123123123123123123123123123123]"), [-123123123123123123123123123123.0])
        assertRejected("[-1e+9999]", at: 1, "number out of range")
        assertRejected("[1.5e+9999]", at: 1, "number out of range")
        assertRejected("[-123123e100000]", at: 1, "number out of range")
        assertRejected("\u{FEFF}{}", at: 0, "unexpected character")
        assertRejected("[\"\\uDFAA\"]", at: 2, "lone or invalid surrogate in \\u escape")
        assertRejected([0x5B, 0x22, 0xE9, 0x22, 0x5D], at: 2, "invalid UTF-8")  // ISO Latin-1
    }
}
