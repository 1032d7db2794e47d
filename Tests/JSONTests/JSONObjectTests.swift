import JSON
import XCTest

final class JSONObjectTests: XCTestCase {
    func testKeepsInsertionOrderAndLooksUpByKey() {
        var object = JSONObject([("type", "event"), ("class_id", "c1"), ("at_ms", 5)])
        XCTAssertEqual(object.keys, ["type", "class_id", "at_ms"])
        XCTAssertEqual(object.count, 3)
        XCTAssertEqual(object["class_id"], "c1")
        XCTAssertNil(object["missing"])

        object["status"] = "late"
        object["type"] = "ack"  // replacing keeps the position
        XCTAssertEqual(object.keys, ["type", "class_id", "at_ms", "status"])
        XCTAssertEqual(object["type"], "ack")
        XCTAssertEqual(object.map(\.key), object.keys)
        XCTAssertEqual(object.map(\.value), ["ack", "c1", 5, "late"])

        object["class_id"] = nil
        object["never"] = nil
        XCTAssertEqual(object.keys, ["type", "at_ms", "status"])
        XCTAssertNil(object["class_id"])
    }

    func testDuplicatesInInitializersKeepTheLastValue() {
        let object = JSONObject([("a", 1), ("b", 2), ("a", 3)])
        XCTAssertEqual(object.keys, ["a", "b"])
        XCTAssertEqual(object["a"], 3)
        let literal: JSONObject = ["x": 1, "y": 2]
        XCTAssertEqual(literal.keys, ["x", "y"])
    }

    /// Crossing the linear-scan limit in both directions must keep lookups, order and removal right.
    func testLargeObjectsAcrossTheLinearScanLimit() {
        var object = JSONObject()
        for i in 0..<100 {
            object["key\(i)"] = .int(Int64(i))
            for j in stride(from: 0, through: i, by: 7) { XCTAssertEqual(object["key\(j)"], .int(Int64(j))) }
            XCTAssertNil(object["key\(i + 1)"])
        }
        XCTAssertEqual(object.keys, (0..<100).map { "key\($0)" })
        object["key50"] = "replaced"
        XCTAssertEqual(object.keys[50], "key50")
        XCTAssertEqual(object["key50"], "replaced")
        for i in stride(from: 99, through: 0, by: -1) where i % 3 != 0 {
            object["key\(i)"] = nil
            XCTAssertNil(object["key\(i)"])
        }
        XCTAssertEqual(object.keys, stride(from: 0, to: 100, by: 3).map { "key\($0)" })
        for i in stride(from: 0, to: 100, by: 3) { XCTAssertEqual(object["key\(i)"], .int(Int64(i))) }
        object["new"] = true
        XCTAssertEqual(object["new"], true)
        XCTAssertEqual(object.keys.last, "new")
    }

    func testEqualityIgnoresOrderButNotMembers() {
        let a = JSONObject([("x", 1), ("y", [true]), ("z", .null)])
        XCTAssertEqual(a, JSONObject([("z", .null), ("x", 1), ("y", [true])]))
        XCTAssertEqual(a, JSONObject([("x", 1), ("z", .null), ("y", [true])]))
        XCTAssertNotEqual(a, JSONObject([("x", 1), ("y", [false]), ("z", .null)]))
        XCTAssertNotEqual(a, JSONObject([("x", 1), ("y", [true]), ("w", .null)]))
        XCTAssertNotEqual(a, JSONObject([("x", 1), ("y", [true])]))
        XCTAssertNotEqual(JSONValue.object(a), .array([1, [true], .null]))

        let large = JSONObject((0..<40).map { ("k\($0)", JSONValue.int(Int64($0))) })
        let shuffled = JSONObject((0..<40).reversed().map { ("k\($0)", JSONValue.int(Int64($0))) })
        XCTAssertEqual(large, shuffled)
        var changed = shuffled
        changed["k3"] = 4
        XCTAssertNotEqual(large, changed)
    }
}
