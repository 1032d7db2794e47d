import JSON
import XCTest

final class JSONWriterTests: XCTestCase {
    private func text(_ writer: JSONWriter) -> String { String(decoding: writer.bytes, as: UTF8.self) }

    func testHubReplies() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("type", "pong")
        writer.field("id", ifPresent: "3")
        writer.endObject()
        XCTAssertEqual(text(writer), #"{"type":"pong","id":"3"}"#)

        writer = JSONWriter()
        writer.beginObject()
        writer.field("type", "ack")
        writer.field("id", ifPresent: nil)
        writer.field("status", "present")
        writer.field("at_ms", Int64(1_732_540_001_290))
        writer.field("late", false)
        writer.field("n", 7)
        writer.field("ratio", 0.5)
        writer.field("extra", ["a": [1, .null]])
        writer.endObject()
        XCTAssertEqual(text(writer),
            #"{"type":"ack","status":"present","at_ms":1732540001290,"late":false,"n":7,"ratio":0.5,"extra":{"a":[1,null]}}"#)
    }

    func testCommasInEveryNesting() {
        var writer = JSONWriter(capacity: 0)
        writer.beginArray()
        writer.beginArray()
        writer.endArray()
        writer.beginObject()
        writer.endObject()
        writer.int(1)
        writer.beginObject()
        writer.key("a")
        writer.beginArray()
        writer.null()
        writer.bool(true)
        writer.beginArray()
        writer.endArray()
        writer.endArray()
        writer.key("b")
        writer.beginObject()
        writer.key("c")
        writer.string("d")
        writer.endObject()
        writer.key("e")
        writer.int(-2)
        writer.endObject()
        writer.string("last")
        writer.endArray()
        XCTAssertEqual(text(writer), #"[[],{},1,{"a":[null,true,[]],"b":{"c":"d"},"e":-2},"last"]"#)
    }

    func testRawSplicesAValue() throws {
        let payload = Array(#"{"event":"checked_in","student_id":"s2"}"#.utf8)
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("type", "event")
        writer.key("payload")
        payload.withUnsafeBytes { writer.raw($0) }
        writer.key("list")
        writer.beginArray()
        payload.withUnsafeBytes { writer.raw($0) }
        payload.withUnsafeBytes { writer.raw($0) }
        writer.endArray()
        writer.endObject()
        let value = try JSON.parse(writer.bytes)
        XCTAssertEqual(value["payload"]?["student_id"], "s2")
        XCTAssertEqual(value["list"]?.array?.count, 2)
    }

    func testStringEscapes() throws {
        var writer = JSONWriter()
        writer.string("q\"b\\s/\n\r\t\u{8}\u{C}\u{0}\u{1F}\u{7F}é😀")
        XCTAssertEqual(text(writer), #""q\"b\\s/\n\r\t\b\f\u0000\u001f"# + "\u{7F}é😀\"")

        for byte in UInt8(0)...0x7F {
            let string = String(decoding: [byte], as: UTF8.self)
            let encoded = JSONValue.string(string).serialized()
            XCTAssertEqual(try JSON.parse(encoded), .string(string), "byte \(byte)")
            XCTAssertTrue(encoded.allSatisfy { $0 >= 0x20 }, "byte \(byte) written raw")
        }
        var keyWriter = JSONWriter()
        keyWriter.beginObject()
        keyWriter.field("k\"\n", 1)
        keyWriter.endObject()
        XCTAssertEqual(text(keyWriter), #"{"k\"\n":1}"#)
    }

    func testStringFromBytesIsAlwaysValidUTF8() throws {
        let cases: [([UInt8], String)] = [
            (Array("plain é 😀".utf8), "plain é 😀"),
            ([], ""),
            ([0x61, 0xFF, 0x62], "a\u{FFFD}b"),
            ([0xC0, 0x80], "\u{FFFD}\u{FFFD}"),
            ([0xED, 0xA0, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}"),
            ([0xE2, 0x82], "\u{FFFD}\u{FFFD}"),
            ([0xF0, 0x9F, 0x98, 0x80, 0x22, 0x0A], "😀\"\n"),
            ([0xF4, 0x90, 0x80, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        ]
        for (input, expected) in cases {
            var writer = JSONWriter()
            input.withUnsafeBytes { writer.string(bytes: $0) }
            XCTAssertNotNil(String(validating: writer.bytes, as: UTF8.self), "\(input)")
            XCTAssertEqual(try JSON.parse(writer.bytes), .string(expected), "\(input)")
        }
    }

    func testIntegers() {
        let values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, 12345, 1_000_000_000_000_000_000, .max, .min, .max - 1, .min + 1]
        for value in values {
            var writer = JSONWriter()
            writer.int(value)
            XCTAssertEqual(text(writer), String(value))
        }
        var writer = JSONWriter()
        writer.beginArray()
        writer.int(Int.max)
        writer.int(-7)
        writer.endArray()
        XCTAssertEqual(text(writer), "[\(Int.max),-7]")
        var power: Int64 = 1
        for _ in 0..<18 {
            XCTAssertEqual(String(decoding: JSONValue.int(power).serialized(), as: UTF8.self), String(power))
            XCTAssertEqual(String(decoding: JSONValue.int(power - 1).serialized(), as: UTF8.self), String(power - 1))
            power *= 10
        }
    }

    func testDoubles() {
        let cases: [(Double, String)] = [
            (1, "1.0"), (0.5, "0.5"), (-0.0, "-0.0"), (0.1, "0.1"), (1e-5, "1e-05"), (1e16, "1e+16"),
            (.greatestFiniteMagnitude, "1.7976931348623157e+308"), (.leastNonzeroMagnitude, "5e-324"),
            (.nan, "null"), (.infinity, "null"), (-.infinity, "null"),
        ]
        for (value, expected) in cases {
            var writer = JSONWriter()
            writer.double(value)
            XCTAssertEqual(text(writer), expected)
        }
        var writer = JSONWriter()
        writer.beginArray()
        writer.double(.nan)
        writer.double(2)
        writer.endArray()
        XCTAssertEqual(text(writer), "[null,2.0]")
    }
}
