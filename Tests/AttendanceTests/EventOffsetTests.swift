@testable import Attendance
import XCTest

final class EventOffsetTests: XCTestCase {
    func testParseAndOrder() {
        XCTAssertEqual(EventOffset("1732540001234-0"), EventOffset(ms: 1_732_540_001_234, seq: 0))
        XCTAssertEqual(EventOffset("5"), EventOffset(ms: 5, seq: 0))
        XCTAssertEqual(EventOffset("0-0"), .zero)
        XCTAssertEqual(EventOffset("18446744073709551615-18446744073709551615")?.seq, UInt64.max)
        for bad in ["", "-", "1-", "-1", "1-2-3", "a-1", "18446744073709551616-0", " 1-0", "+1-0"] {
            XCTAssertNil(EventOffset(bad), bad)
        }
        XCTAssertLessThan(EventOffset(ms: 1, seq: 9), EventOffset(ms: 2, seq: 0))
        XCTAssertLessThan(EventOffset(ms: 2, seq: 0), EventOffset(ms: 2, seq: 1))
        XCTAssertEqual(EventOffset(ms: 2, seq: 1).description, "2-1")
    }

    func testEventHeader() {
        let event = #"{"type":"event","class_id":"c_8f2k","offset":"1732540001300-0","event":"checked_in","student_id":"s2","status":"late","at_ms":1,"method":"qr"}"#
        XCTAssertEqual(EventHeader.parse(Array(event.utf8)),
                       EventHeader(classId: "c_8f2k", offset: EventOffset(ms: 1_732_540_001_300, seq: 0), event: "checked_in", studentId: "s2"))
        let closed = #"{"type":"event","class_id":"c_1","offset":"5-1","event":"class_closed","at_ms":1,"by":"t1"}"#
        XCTAssertEqual(EventHeader.parse(Array(closed.utf8))?.studentId, nil)
        XCTAssertEqual(EventHeader.parse(Array(closed.utf8))?.event, "class_closed")
        for bad in ["", "{", #"{"type":"event","class_id":"c_1""#, #"{"type":"event","class_id":"c 1","offset":"5-1","event":"x"}"#,
                    #"{"type":"event","class_id":"c_1","offset":"x","event":"x"}"#, #"{"type":"ack"}"#] {
            XCTAssertNil(EventHeader.parse(Array(bad.utf8)), bad)
        }
        // Every truncation fails cleanly.
        let bytes = Array(event.utf8)
        for cut in 0..<60 { _ = EventHeader.parse(Array(bytes[..<cut])) }
    }
}
