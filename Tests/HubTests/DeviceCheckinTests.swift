import Attendance
import EventLoop
import JSON
import TestSupport
import XCTest

/// Signed check-ins over the hub's WebSocket (PROTOCOL.md "Device binding").
final class DeviceCheckinTests: HubTestCase {
    private func checkinText(_ created: CreatedClass, qr: String, sig: String?, time: String?, id: String) -> String {
        var text = #"{"type":"checkin","class_id":"\#(created.classId)","qr":"\#(qr)","id":"\#(id)""#
        if let sig { text += #","device_sig":"\#(sig)""# }
        if let time { text += #","client_time_ms":\#(time)"# }
        return text + "}"
    }

    func testSignedCheckinOverTheWebSocket() throws {
        let hub = try startHub()
        let created = try createClass()
        let phone = TestDeviceKey(), other = TestDeviceKey()
        let key = try XCTUnwrap(DeviceKey(point: phone.point))
        let ann = try wait { store.join(.code(created.code), studentId: "ann", name: nil, deviceKey: key,
                                        address: "127.0.0.1", completion: $0) }
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        subscribe(dashboard, created.classId)
        let client = connected(hub, token: ann.accessToken)
        let qr = QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey).qr
        let now = EventLoop.wallClockMs()
        let good = phone.deviceSig(classId: created.classId, studentId: "ann", proof: qr, clientTimeMs: now)
        let wrong = other.deviceSig(classId: created.classId, studentId: "ann", proof: qr, clientTimeMs: now)

        // Malformed fields first, then a wrong key: errors, nothing recorded.
        client.sendRaw(checkinText(created, qr: qr, sig: "abc", time: "\(now)", id: "1"))
        client.sendRaw(checkinText(created, qr: qr, sig: good, time: nil, id: "2"))
        client.sendRaw(checkinText(created, qr: qr, sig: good, time: "1.5", id: "3"))
        client.sendRaw(checkinText(created, qr: qr, sig: wrong, time: "\(now)", id: "4"))
        XCTAssertTrue(runLoop(loop) { client.messages(type: "error").count == 4 })
        XCTAssertEqual(client.messages(type: "error").map { $0["code"]?.string ?? "" },
                       ["bad_request", "bad_request", "bad_request", "device_invalid"])

        client.sendRaw(checkinText(created, qr: qr, sig: good, time: "\(now)", id: "5"))
        XCTAssertTrue(runLoop(loop) { client.messages(type: "ack").count == 1 })
        XCTAssertEqual(client.messages(type: "ack")[0]["status"]?.string, "present")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "checked_in").count == 1 })
        let event = dashboard.messages(type: "event", event: "checked_in")[0]
        XCTAssertEqual(event["device"]?.string, key.keyId)
        XCTAssertNil(event["flags"])
    }

    func testUnsignedCheckinOfABoundStudentIsFlagged() throws {
        let hub = try startHub()
        let created = try createClass()
        let key = try XCTUnwrap(DeviceKey(point: TestDeviceKey().point))
        let ann = try wait { store.join(.code(created.code), studentId: "ann", name: nil, deviceKey: key,
                                        address: "127.0.0.1", completion: $0) }
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        subscribe(dashboard, created.classId)
        let client = connected(hub, token: ann.accessToken)
        let qr = QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey).qr
        client.send(["type": "checkin", "class_id": created.classId, "qr": qr, "id": "1"])
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "checked_in").count == 1 })
        XCTAssertEqual(dashboard.messages(type: "event", event: "checked_in")[0]["flags"], ["unsigned"])

        // A dashboard that connects later sees the flags in its snapshot.
        let later = connected(hub, token: token(.teacher, "t1"))
        let subscribed = subscribe(later, created.classId)
        let row = subscribed?["snapshot"]?["students"]?.array?.first { $0["student_id"]?.string == "ann" }
        XCTAssertEqual(row?["flags"], ["unsigned"])
        XCTAssertNil(row?["device"], "an unsigned check-in names no device")
    }

    /// A signed check-in's device shows in a later snapshot; a row without flags has no `flags`.
    func testSnapshotCarriesTheDevice() throws {
        let hub = try startHub()
        let created = try createClass()
        let phone = TestDeviceKey()
        let key = try XCTUnwrap(DeviceKey(point: phone.point))
        _ = try wait { store.join(.code(created.code), studentId: "ann", name: nil, deviceKey: key,
                                  address: "127.0.0.1", completion: $0) }
        let qr = QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey).qr
        let now = EventLoop.wallClockMs()
        let sig = DeviceSignature(signature: phone.sign(DeviceKey.message(classId: created.classId, studentId: "ann", proof: qr,
                                                                          clientTimeMs: now)), clientTimeMs: now)
        _ = try wait { store.checkin(classId: created.classId, actor: Actor(id: "ann", role: .student, classId: created.classId),
                                     proof: .qr(qr), device: sig, address: "127.0.0.1", completion: $0) }
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        let row = subscribe(dashboard, created.classId)?["snapshot"]?["students"]?.array?.first { $0["student_id"]?.string == "ann" }
        XCTAssertEqual(row?["device"]?.string, key.keyId)
        XCTAssertNil(row?["flags"])
        XCTAssertEqual(row?["status"]?.string, "present")
    }
}
