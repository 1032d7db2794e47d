import JSON
import XCTest

final class JSONNumberTests: XCTestCase {
    func testIntegersThatFitInt64AreInts() throws {
        let cases: [(String, Int64)] = [
            ("0", 0), ("1", 1), ("-1", -1), ("42", 42), ("1732540001000", 1_732_540_001_000),
            ("9223372036854775807", .max), ("-9223372036854775808", .min),
            ("999999999999999999", 999_999_999_999_999_999), ("-1000000000000000000", -1_000_000_000_000_000_000),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try JSON.parse(text), .int(expected), text)
            XCTAssertEqual(try JSON.parse("[\(text)]"), [.int(expected)], text)
        }
    }

    func testEverythingElseIsADouble() throws {
        let cases: [(String, Double)] = [
            ("9223372036854775808", 9_223_372_036_854_775_808), ("-9223372036854775809", -9_223_372_036_854_775_808),
            ("18446744073709551616", 18_446_744_073_709_551_616), ("12345678901234567890123", 1.2345678901234568e22),
            ("1.0", 1), ("1.5", 1.5), ("-1.5", -1.5), ("0.1", 0.1), ("0.3", 0.3), ("1e2", 100), ("1E2", 100),
            ("1e+2", 100), ("1e-2", 0.01), ("-0.0", -0.0), ("0e0", 0), ("0.000001", 0.000001), ("1e-7", 1e-7),
            ("3.141592653589793", .pi), ("1e22", 1e22), ("1e23", 1e23), ("9007199254740993.0", 9_007_199_254_740_992), ("9007199254740995e0", 9_007_199_254_740_996),
            ("1e308", 1e308), ("1.7976931348623157e308", .greatestFiniteMagnitude),
            ("-1.7976931348623157e308", -.greatestFiniteMagnitude),
            ("2.2250738585072014e-308", .leastNormalMagnitude), ("4.9406564584124654e-324", .leastNonzeroMagnitude),
            ("1e-400", 0), ("0.1e1", 1), ("100e-2", 1), ("123456789012345.678", 123_456_789_012_345.678),
            ("0.0000000000000000000000000000001", 1e-31), ("1" + String(repeating: "0", count: 400) + "e-400", 1),
        ]
        for (text, expected) in cases {
            let value = try JSON.parse(text)
            guard case .double(let parsed) = value else {
                XCTFail("\(text) gave \(value)")
                continue
            }
            XCTAssertEqual(parsed.bitPattern, expected.bitPattern, "\(text) gave \(parsed), expected \(expected)")
        }
    }

    func testMinusZeroKeepsItsSign() throws {
        let value = try JSON.parse("-0")
        XCTAssertEqual(value.double?.sign, .minus)
        XCTAssertEqual(value.int, 0)
        XCTAssertEqual(String(decoding: value.serialized(), as: UTF8.self), "-0.0")
        XCTAssertEqual(try JSON.parse("0"), .int(0))
    }

    func testNonFiniteAndMalformedNumbersAreRejected() {
        assertRejected("1e309", at: 0, "number out of range")
        assertRejected("-1e309", at: 0, "number out of range")
        assertRejected("[1, 2e400]", at: 4, "number out of range")
        assertRejected("1" + String(repeating: "0", count: 400), at: 0, "number out of range")
        assertRejected("01", at: 0, "leading zero in number")
        assertRejected("-01", at: 0, "leading zero in number")
        assertRejected("[00]", at: 1, "leading zero in number")
        assertRejected("-", at: 1, "invalid number")
        assertRejected("- 1", at: 1, "invalid number")
        assertRejected("-a", at: 1, "invalid number")
        assertRejected("1.", at: 2, "invalid number")
        assertRejected("1.e3", at: 2, "invalid number")
        assertRejected("1e", at: 2, "invalid number")
        assertRejected("1e+", at: 3, "invalid number")
        assertRejected("1E-x", at: 3, "invalid number")
        assertRejected("+1", at: 0, "unexpected character")
        assertRejected(".5", at: 0, "unexpected character")
        assertRejected("NaN", at: 0, "unexpected character")
        assertRejected("Infinity", at: 0, "unexpected character")
        assertRejected("-Infinity", at: 1, "invalid number")
        assertRejected("0x10", at: 1, "unexpected data after the value")
        assertRejected("1.5.2", at: 3, "unexpected data after the value")
        assertRejected("[1e5e5]", at: 4, "expected ',' or ']'")
    }

    /// Both conversion paths (the exact fast path and the standard library's) against the standard
    /// library's correctly rounded conversion, on numbers of every shape.
    func testDoublesMatchCorrectlyRoundedConversion() throws {
        var random = SplitMix64(seed: 0x5EED)
        for _ in 0..<20_000 {
            let integerDigits = Int.random(in: 1...22, using: &random)
            var text = Bool.random(using: &random) ? "-" : ""
            text += String(Int.random(in: 1...9, using: &random))
            for _ in 1..<integerDigits { text += String(Int.random(in: 0...9, using: &random)) }
            if Bool.random(using: &random) {
                text += "."
                for _ in 0..<Int.random(in: 1...20, using: &random) { text += String(Int.random(in: 0...9, using: &random)) }
            }
            if Bool.random(using: &random) {
                text += ["e", "E", "e+", "e-", "E-"].randomElement(using: &random)!
                text += String(Int.random(in: 0...330, using: &random))
            }
            guard let expected = Double(text), expected.isFinite else {
                XCTAssertEqual(parseError(text)?.reason, "number out of range", text)
                continue
            }
            let value = try JSON.parse(text)
            if case .int(let int) = value {
                XCTAssertEqual(Int64(text), int, text)
            } else {
                XCTAssertEqual(value.double?.bitPattern, expected.bitPattern, text)
            }
        }
    }

    func testDoublesRoundTripThroughTheWriter() throws {
        var random = SplitMix64(seed: 42)
        var samples: [Double] = [0.1, 0.2 + 0.1, 1 / 3, 1e-7, 1e16, 1e21, 123_456_789.125, .pi, -2.5e-300,
            .greatestFiniteMagnitude, .leastNormalMagnitude, .leastNonzeroMagnitude, -0.0, 0, 1, 2, 1e300]
        while samples.count < 5_000 {
            let sample = Double(bitPattern: random.next())
            if sample.isFinite { samples.append(sample) }
        }
        for sample in samples {
            let value = try JSON.parse(JSONValue.double(sample).serialized())
            XCTAssertEqual(value.double?.bitPattern, sample.bitPattern, "\(sample)")
        }
    }
}
