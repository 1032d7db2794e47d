import JSON
import XCTest

final class JSONParserTests: XCTestCase {
    func testHubMessages() throws {
        let ping = try JSON.parse(#"{"type":"ping","id":"3"}"#)
        XCTAssertEqual(ping["type"]?.string, "ping")
        XCTAssertEqual(ping["id"]?.string, "3")
        XCTAssertNil(ping["class_id"])

        let checkin = try JSON.parse(#"{"type":"checkin","class_id":"c1","qr":"c1.115502666.Zm9v","id":"2"}"#)
        XCTAssertEqual(checkin.object?.keys, ["type", "class_id", "qr", "id"])
        XCTAssertEqual(checkin["qr"]?.string, "c1.115502666.Zm9v")
        XCTAssertEqual(checkin, ["type": "checkin", "class_id": "c1", "qr": "c1.115502666.Zm9v", "id": "2"])
    }

    func testScalarsContainersAndWhitespace() throws {
        XCTAssertEqual(try JSON.parse("null"), .null)
        XCTAssertEqual(try JSON.parse(" \t\r\ntrue \n"), .bool(true))
        XCTAssertEqual(try JSON.parse("false"), .bool(false))
        XCTAssertEqual(try JSON.parse("\"\""), .string(""))
        XCTAssertEqual(try JSON.parse("[]"), .array([]))
        XCTAssertEqual(try JSON.parse("{}"), .object(JSONObject()))
        XCTAssertEqual(try JSON.parse("[ ]"), .array([]))
        XCTAssertEqual(try JSON.parse("{ \n}"), .object(JSONObject()))
        XCTAssertEqual(
            try JSON.parse(#" { "a" : [ 1 , { "b" : [ ] , "c" : { } } , [ [ null ] ] ] , "d" : "e" } "#),
            ["a": [1, ["b": [], "c": .object(JSONObject())], [[.null]]], "d": "e"])
        XCTAssertEqual(try JSON.parse("[[],[[]],{},[{}]]"), [[], [[]], .object(JSONObject()), [.object(JSONObject())]])
    }

    func testTheThreeEntryPointsAgree() throws {
        let text = #"{"k":[1,2.5,"é😀",true,null]}"#
        let bytes = Array(text.utf8)
        let fromBuffer = try bytes.withUnsafeBytes { buffer in try JSON.parse(buffer) }
        XCTAssertEqual(try JSON.parse(text), fromBuffer)
        XCTAssertEqual(try JSON.parse(bytes), fromBuffer)
        XCTAssertEqual(parseError([UInt8]()), JSONError(offset: 0, reason: "unexpected end of input"))
        XCTAssertEqual(parseError(""), JSONError(offset: 0, reason: "unexpected end of input"))
    }

    func testStructuralErrorsNameTheRuleAndTheOffset() {
        assertRejected("   ", at: 3, "unexpected end of input")
        assertRejected("[", at: 1, "unexpected end of input")
        assertRejected("[1", at: 2, "unexpected end of input")
        assertRejected("[1,", at: 3, "unexpected end of input")
        assertRejected("{\"a\"", at: 4, "unexpected end of input")
        assertRejected("{\"a\":", at: 5, "unexpected end of input")
        assertRejected("[1,]", at: 3, "trailing comma")
        assertRejected("[1, \n]", at: 5, "trailing comma")
        assertRejected("{\"a\":1,}", at: 7, "trailing comma")
        assertRejected("{\"a\":1, }", at: 8, "trailing comma")
        assertRejected("[,1]", at: 1, "unexpected character")
        assertRejected("{,}", at: 1, "expected a string key")
        assertRejected("{1:1}", at: 1, "expected a string key")
        assertRejected("{'a':1}", at: 1, "expected a string key")
        assertRejected("{\"a\" 1}", at: 5, "expected ':' after a key")
        assertRejected("{\"a\"::1}", at: 5, "unexpected character")
        assertRejected("[1 2]", at: 3, "expected ',' or ']'")
        assertRejected("[1}", at: 2, "expected ',' or ']'")
        assertRejected("{\"a\":1]", at: 6, "expected ',' or '}'")
        assertRejected("{\"a\":1 \"b\":2}", at: 7, "expected ',' or '}'")
        assertRejected("[1] x", at: 4, "unexpected data after the value")
        assertRejected("[1]]", at: 3, "unexpected data after the value")
        assertRejected("1 2", at: 2, "unexpected data after the value")
        assertRejected("{}\u{0}", at: 2, "unexpected data after the value")
        assertRejected("tru", at: 0, "invalid literal")
        assertRejected("[nul]", at: 1, "invalid literal")
        assertRejected("True", at: 0, "unexpected character")
        assertRejected("[\u{0B}1]", at: 1, "unexpected character")  // vertical tab is not JSON whitespace
        assertRejected("[\u{0C}]", at: 1, "unexpected character")
        assertRejected("/* c */ 1", at: 0, "unexpected character")
        assertRejected([0x5B, 0xFF, 0x5D], at: 1, "unexpected character")
    }

    func testDepthLimit() throws {
        func nested(_ depth: Int) -> String {
            String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        }
        XCTAssertNil(parseError(nested(64)))
        assertRejected(nested(65), at: 64, "nesting too deep")
        assertRejected(String(repeating: "{\"a\":", count: 65) + "1" + String(repeating: "}", count: 65),
            at: 320, "nesting too deep")
        XCTAssertNil(parseError(String(repeating: "{\"a\":", count: 64) + "1" + String(repeating: "}", count: 64)))
        XCTAssertNil(parseError("7", maxDepth: 0))
        assertRejected("[]", at: 0, "nesting too deep", maxDepth: 0)
        assertRejected("{}", at: 0, "nesting too deep", maxDepth: -1)
        XCTAssertNil(parseError("[1,[2]]", maxDepth: 2))
        assertRejected("[1,[2]]", at: 3, "nesting too deep", maxDepth: 1)

        // Depth is bounded only by maxDepth: the parser does not recurse. (Releasing the value does,
        // which is why maxDepth should stay modest in production.)
        var value = try JSON.parse(nested(10_000), maxDepth: .max)
        var depth = 0
        while case .array(let elements) = value, let first = elements.first {
            value = first
            depth += 1
        }
        XCTAssertEqual(depth, 9_999)
    }

    func testDuplicateKeysKeepTheFirstPositionAndTheLastValue() throws {
        let value = try JSON.parse(#"{"a":1,"b":2,"a":3}"#)
        XCTAssertEqual(value.object?.keys, ["a", "b"])
        XCTAssertEqual(value["a"], 3)
        XCTAssertEqual(value.object?.count, 2)

        var text = "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        text += #","k7":"again","k39":null}"#
        let large = try JSON.parse(text)
        XCTAssertEqual(large.object?.count, 40)
        XCTAssertEqual(large["k7"], "again")
        XCTAssertEqual(large["k39"], .null)
        XCTAssertEqual(large["k8"], 8)
        XCTAssertEqual(large.object?.keys.last, "k39")
    }

    func testAccessors() throws {
        let value = try JSON.parse(#"{"i":5,"d":2.0,"f":2.5,"big":1e20,"s":"x","b":true,"n":null,"a":[1],"o":{}}"#)
        XCTAssertEqual(value["i"]?.int, 5)
        XCTAssertEqual(value["i"]?.double, 5.0)
        XCTAssertEqual(value["d"]?.int, 2)
        XCTAssertNil(value["f"]?.int)
        XCTAssertNil(value["big"]?.int)
        XCTAssertEqual(value["f"]?.double, 2.5)
        XCTAssertEqual(value["s"]?.string, "x")
        XCTAssertNil(value["s"]?.int)
        XCTAssertEqual(value["b"]?.bool, true)
        XCTAssertNil(value["i"]?.bool)
        XCTAssertEqual(value["n"]?.isNull, true)
        XCTAssertEqual(value["i"]?.isNull, false)
        XCTAssertEqual(value["a"]?.array, [1])
        XCTAssertEqual(value["o"]?.object?.count, 0)
        XCTAssertNil(value["a"]?["x"])
        XCTAssertNil(value["s"]?.object)
        XCTAssertNil(value["o"]?.array)
        XCTAssertEqual(JSONValue.int(3).description, "3")
    }

    func testOneMebibyteDocuments() throws {
        var writer = JSONWriter(capacity: 1 << 21)
        writer.beginArray()
        var count = 0
        while writer.bytes.count < 1 << 20 {
            writer.beginObject()
            writer.field("student_id", "s\(count)")
            writer.field("status", count % 3 == 0 ? "present" : "late, with a longer reason ✓")
            writer.field("at_ms", Int64(1_732_540_001_000 + count))
            writer.field("score", Double(count) / 8)
            writer.endObject()
            count += 1
        }
        writer.endArray()
        let value = try JSON.parse(writer.bytes)
        XCTAssertEqual(value.array?.count, count)
        XCTAssertEqual(value.array?.last?["student_id"]?.string, "s\(count - 1)")
        XCTAssertEqual(value.array?[3]?["at_ms"], 1_732_540_001_003)
        XCTAssertEqual(value.array?[3]?["score"], 0.375)

        let longString = String(repeating: "abcdefgh\\n\\u00e9", count: 80_000)
        let parsed = try JSON.parse("\"\(longString)\"")
        XCTAssertEqual(parsed.string?.utf8.count, 80_000 * 11)
        XCTAssertTrue(parsed.string?.hasSuffix("abcdefgh\né") ?? false)
    }
}

private extension Array {
    subscript(_ i: Int) -> Element? { indices.contains(i) ? self[i] as Element : nil }
}
