import Attendance
import EventLoop
import JSON
import TestSupport
import XCTest

/// Enrolment requests reach teachers only, live and on replay.
final class EnrolmentEventTests: HubTestCase {
    func testEnrolmentEventsGoToTeachersOnly() throws {
        let hub = try startHub()
        var request = CreateClassRequest(name: "Open house", roster: ["ann"])
        request.enrolUnknown = .approve
        let created = try wait { store.createClass(request, actor: Actor(id: "t1", role: .teacher), address: "127.0.0.1",
                                                   completion: $0) }
        let ann = try join(created, student: "ann")
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        subscribe(dashboard, created.classId)
        let student = connected(hub, token: ann.accessToken)
        subscribe(student, created.classId)

        let waiting = try join(created, student: "zed")
        XCTAssertTrue(waiting.pendingApproval)
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "enrol_requested").count == 1 })
        XCTAssertEqual(dashboard.messages(type: "event", event: "enrol_requested")[0]["student_id"]?.string, "zed")
        _ = try wait { store.approveEnrolment(classId: created.classId, studentId: "zed", actor: Actor(id: "t1", role: .teacher),
                                              address: "127.0.0.1", completion: $0) }
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "enrol_approved").count == 1 })

        // The student's own later event arrives; nothing of the enrolment came before it.
        let qr = QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey).qr
        student.send(["type": "checkin", "class_id": created.classId, "qr": qr, "id": "1"])
        XCTAssertTrue(runLoop(loop) { student.messages(type: "event", event: "checked_in").count == 1 })
        XCTAssertEqual(student.messages(type: "event").compactMap { $0["event"]?.string }, ["checked_in"])

        // A replay from the start shows the teacher everything and the student only its own events.
        let zed = try join(created, student: "zed")
        let replaying = connected(hub, token: zed.accessToken)
        subscribe(replaying, created.classId, since: "0-0")
        let teacherReplay = connected(hub, token: token(.teacher, "t1"))
        subscribe(teacherReplay, created.classId, since: "0-0")
        XCTAssertTrue(runLoop(loop) { teacherReplay.messages(type: "event", event: "joined").count == 2 })
        XCTAssertEqual(teacherReplay.messages(type: "event", event: "enrol_requested").count, 1)
        XCTAssertTrue(runLoop(loop) { replaying.messages(type: "event", event: "joined").count == 1 })
        XCTAssertEqual(replaying.messages(type: "event").compactMap { $0["event"]?.string }, ["joined"])
    }
}
