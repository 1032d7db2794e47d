import JSON
import XCTest

final class JSONRoundTripTests: XCTestCase {
    func testNestedValue() throws {
        let value: JSONValue = [
            "type": "subscribed", "id": "1", "class_id": "c_8f2k", "offset": "1732540001234-0",
            "snapshot": ["students": [
                ["student_id": "s1", "status": "present", "at_ms": 1_732_540_001_000],
                ["student_id": "s2 \"quoted\"\n", "status": "unmarked", "at_ms": .null, "score": -2.5e-3],
            ]],
            "flags": [true, false, .null, [], .object(JSONObject()), [[[1, 2, [3]]]]],
            "unicode": "é € 😀 𝄞 \u{0} \u{1F} \u{7F} \u{FEFF} \u{10FFFF}",
            "numbers": [0, -1, .int(.max), .int(.min), 0.1, 1e300, -0.0, .double(.leastNonzeroMagnitude)],
        ]
        let bytes = value.serialized()
        XCTAssertEqual(try JSON.parse(bytes), value)
        XCTAssertEqual(try JSON.parse(value.description), value)
    }

    /// Random values of every kind, nested five deep, survive serialize → parse.
    func testRandomValues() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let value = Self.randomValue(depth: 0, maxDepth: 5, using: &random)
            let bytes = value.serialized()
            XCTAssertNotNil(String(validating: bytes, as: UTF8.self))
            let parsed = try JSON.parse(bytes)
            XCTAssertEqual(parsed, value)
            XCTAssertEqual(parsed.serialized(), bytes, "serialization is deterministic and order preserving")
        }
    }

    static func randomValue(depth: Int, maxDepth: Int, using random: inout SplitMix64) -> JSONValue {
        let choice = Int.random(in: 0..<(depth < maxDepth ? 9 : 6), using: &random)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .int(Int64(bitPattern: random.next()) >> Int64.random(in: 0...63, using: &random))
        case 3:
            var double: Double
            repeat { double = Double(bitPattern: random.next()) } while !double.isFinite
            return .double(Bool.random(using: &random) ? double : Double(Int.random(in: -1000...1000, using: &random)) / 8)
        case 4, 5: return .string(randomString(using: &random))
        case 6, 7:
            return .array((0..<Int.random(in: 0...5, using: &random)).map { _ in
                randomValue(depth: depth + 1, maxDepth: maxDepth, using: &random)
            })
        default:
            var object = JSONObject()
            // Sometimes past the linear-scan limit, so that both object layouts round-trip.
            let count = Bool.random(using: &random) ? Int.random(in: 0...5, using: &random) : Int.random(in: 15...30, using: &random)
            for _ in 0..<count {
                object[randomString(using: &random)] = randomValue(depth: depth + 1, maxDepth: maxDepth, using: &random)
            }
            return .object(object)
        }
    }

    static func randomString(using random: inout SplitMix64) -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...24, using: &random) {
            let range: ClosedRange<UInt32> = [0...0x1F, 0x20...0x7F, 0x20...0x7F, 0x20...0x7F, 0x80...0x7FF, 0x800...0xFFFF, 0x10000...0x10FFFF]
                .randomElement(using: &random)!
            if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &random)) { scalars.append(scalar) }
        }
        return String(scalars)
    }
}
