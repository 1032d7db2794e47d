import Attendance
import EventLoop
import JSON
import TestSupport
import XCTest

/// The hub applies a class's networks (and the site's default) to WebSocket check-ins, with the
/// client address read from X-Forwarded-For on the upgrade when a trusted proxy sent it.
final class HubNetworkRuleTests: HubTestCase {
    private func phone(_ hub: AttendanceProcess, _ created: CreatedClass, student: String, from address: String) throws -> TestClient {
        let token = try join(created, student: student).accessToken
        let client = TestClient.connect(loop: loop, port: hub.port, token: token, headers: [("X-Forwarded-For", address)])
        clients.append(client)
        XCTAssertTrue(runLoop(loop) { client.isConnected || client.connectError != nil })
        return client
    }

    private func checkin(_ client: TestClient, _ created: CreatedClass) -> JSONValue? {
        client.send(["type": "checkin", "class_id": created.classId, "qr": created.qr, "id": "c"])
        XCTAssertTrue(runLoop(loop) { !client.messages(type: "ack").isEmpty || !client.messages(type: "error").isEmpty })
        return client.messages(type: "ack").first ?? client.messages(type: "error").first
    }

    func testCheckinsFromOutsideTheAllowedNetworksGetNetworkNotAllowed() throws {
        let hub = try startHub(extra: ["--trusted-proxies", "127.0.0.1/32", "--allowed-networks", "192.0.2.0/24"])
        let lab = try wait { store.createClass(CreateClassRequest(name: "Lab", allowedNetworks: [CIDR("10.1.0.0/16")!]),
                                               actor: Actor(id: "t1", role: .teacher), address: "127.0.0.1", completion: $0) }
        let home = checkin(try phone(hub, lab, student: "s1", from: "203.0.113.5"), lab)
        XCTAssertEqual(home?["type"]?.string, "error")
        XCTAssertEqual(home?["code"]?.string, "network_not_allowed")
        XCTAssertEqual(home?["id"]?.string, "c")
        let school = checkin(try phone(hub, lab, student: "s2", from: "6.6.6.6, 10.1.2.3"), lab)
        XCTAssertEqual(school?["type"]?.string, "ack", "\(String(describing: school))")
        // A class without networks of its own follows the hub's --allowed-networks.
        let plain = try createClass()
        let outside = checkin(try phone(hub, plain, student: "s3", from: "10.1.2.3"), plain)
        XCTAssertEqual(outside?["code"]?.string, "network_not_allowed")
        let inside = checkin(try phone(hub, plain, student: "s4", from: "192.0.2.44"), plain)
        XCTAssertEqual(inside?["type"]?.string, "ack", "\(String(describing: inside))")
        let rows = try wait { store.attendance(classId: lab.classId, actor: Actor(id: "t1", role: .teacher), completion: $0) }
        XCTAssertEqual(rows.first { $0.studentId == "s1" }?.status, .unmarked)
    }
}
