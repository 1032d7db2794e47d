import Attendance
import TestSupport
import XCTest

/// A student's subscribe reads that student's record, not the class's whole hash.
final class StudentSnapshotTests: HubTestCase {
    func testStudentSnapshotReadsOnlyThatStudent() throws {
        let hub = try startHub()
        let created = try createClass()
        var joined = 0
        for i in 0..<200 where i != 7 {
            store.join(.code(created.code), studentId: "s\(i)", name: "Student \(i)", address: "127.0.0.1") { if case .success = $0 { joined += 1 } }
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 30_000) { joined == 199 })
        let me = try join(created, student: "s7")
        let hgetall = commandCalls("hgetall")
        let student = connected(hub, token: me.accessToken)
        let reply = try XCTUnwrap(subscribe(student, created.classId))
        let rows = reply["snapshot"]?["students"]?.array ?? []
        XCTAssertEqual(rows.map { $0["student_id"]?.string ?? "" }, ["s7"])
        XCTAssertEqual(rows.first?["name"]?.string, "Student s7")
        XCTAssertEqual(commandCalls("hgetall"), hgetall, "a student's snapshot read the whole class hash")

        // A student of the class who is not (yet) known gets an empty snapshot, not an error.
        let stranger = connected(hub, token: token(.student, "nobody", classId: created.classId))
        let empty = try XCTUnwrap(subscribe(stranger, created.classId))
        XCTAssertEqual(empty["snapshot"]?["students"]?.array?.count, 0)
    }

    func commandCalls(_ name: String) -> Int {
        let prefix = "cmdstat_\(name):calls="
        for line in RedisServer.shared.cli("INFO", "commandstats").split(whereSeparator: \.isNewline) where line.hasPrefix(prefix) {
            return Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) ?? -1
        }
        return 0
    }
}
