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

    /// A scan receipt in place of the QR, and an offline check-in with a long-expired QR.
    func testReceiptAndOfflineCheckinsOverTheWebSocket() throws {
        let hub = try startHub()
        let created = try createClass()
        let phone = TestDeviceKey()
        let key = try XCTUnwrap(DeviceKey(point: phone.point))
        var students: [String: JoinResult] = [:]
        for id in ["ann", "bob"] {
            students[id] = try wait { store.join(.code(created.code), studentId: id, name: nil, deviceKey: key,
                                                 address: "127.0.0.1", completion: $0) }
        }
        let now = EventLoop.wallClockMs()
        let qr = QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: now, key: qrKey).qr
        let issued = try wait { store.issueReceipt(qr: qr, deviceKey: key, address: "127.0.0.1", completion: $0) }
        let ann = connected(hub, token: try XCTUnwrap(students["ann"]).accessToken)
        func send(_ client: TestClient, _ field: String, _ proof: String, student: String, time: Int64, offline: String?, id: String) {
            let sig = phone.deviceSig(classId: created.classId, studentId: student, proof: proof, clientTimeMs: time)
            var text = #"{"type":"checkin","class_id":"\#(created.classId)","\#(field)":"\#(proof)","id":"\#(id)""#
            text += #","device_sig":"\#(sig)","client_time_ms":\#(time)"#
            if let offline { text += #","offline":\#(offline)"# }
            client.sendRaw(text + "}")
        }
        // A receipt without a signature, and `offline` of the wrong type: bad requests.
        ann.sendRaw(#"{"type":"checkin","class_id":"\#(created.classId)","receipt":"\#(issued.receipt)","id":"1"}"#)
        send(ann, "receipt", issued.receipt, student: "ann", time: now, offline: "1", id: "2")
        XCTAssertTrue(runLoop(loop) { ann.messages(type: "error").count == 2 })
        XCTAssertEqual(ann.messages(type: "error").map { $0["code"]?.string ?? "" }, ["bad_request", "bad_request"])
        send(ann, "receipt", issued.receipt, student: "ann", time: now, offline: nil, id: "3")
        XCTAssertTrue(runLoop(loop) { ann.messages(type: "ack").count == 1 })

        // Bob's QR is ten windows old: refused online, taken offline with a time inside its window.
        let bob = connected(hub, token: try XCTUnwrap(students["bob"]).accessToken)
        let period = Int64(created.qrPeriodS) * 1000
        let old = QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: now - 10 * period, key: qrKey).qr
        let scannedAt = (now / period - 10) * period + 1000
        send(bob, "qr", old, student: "bob", time: scannedAt, offline: "false", id: "4")
        XCTAssertTrue(runLoop(loop) { bob.messages(type: "error").count == 1 })
        XCTAssertEqual(bob.messages(type: "error")[0]["code"]?.string, "qr_expired")
        send(bob, "qr", old, student: "bob", time: scannedAt, offline: "true", id: "5")
        XCTAssertTrue(runLoop(loop) { bob.messages(type: "ack").count == 1 })
        let row = try wait { store.snapshot(classId: created.classId, actor: Actor(id: "t1", role: .teacher), completion: $0) }
            .students.first { $0.studentId == "bob" }
        XCTAssertEqual(row?.clientTimeMs, scannedAt)
        XCTAssertEqual(row?.flags.first, "shared_device", "one phone for two students is still flagged")
        XCTAssertTrue(row?.flags.contains("offline") ?? false)
    }
}
