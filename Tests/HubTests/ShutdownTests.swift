import EventLoop
import Glibc
import TestSupport
import XCTest

/// SIGTERM: every WebSocket is closed with 1001 and the process exits 0 as soon as every client
/// has answered, or after the grace period when one does not.
final class ShutdownTests: HubTestCase {
    func testExitsAsSoonAsEveryClientAnsweredTheClose() throws {
        // A grace far longer than the wait below: exiting in time means not waiting for it.
        let hub = try startHub(extra: ["--shutdown-grace-ms", "60000"])
        let created = try createClass()
        let clients = (0..<20).map { _ in connected(hub, token: token(.teacher, "t1")) }
        for client in clients.prefix(5) { subscribe(client, created.classId) }

        let started = EventLoop.monotonicNs()
        XCTAssertEqual(kill(hub.pid, SIGTERM), 0)
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { !hub.isRunning }, "the hub waited for its grace period")
        let elapsedMs = (EventLoop.monotonicNs() - started) / 1_000_000
        XCTAssertEqual(hub.exitStatus, 0)
        XCTAssertTrue(runLoop(loop) { clients.allSatisfy { $0.closeCode != nil } })
        XCTAssertEqual(Set(clients.map(\.closeCode)), [1001])
        print("hub exited \(elapsedMs) ms after SIGTERM with 20 answering clients")
    }

    func testExitsAfterTheGraceWhenAClientNeverAnswers() throws {
        let hub = try startHub(extra: ["--shutdown-grace-ms", "1000"])
        let answering = connected(hub, token: token(.teacher, "t1"))
        // Never reads, so it never sees the close frame, let alone answers it.
        let silent = try XCTUnwrap(RawWebSocketClient(port: hub.port, token: token(.teacher, "t2")))
        silent.sendText(#"{"type":"ping","id":"p"}"#)
        XCTAssertTrue(runLoop(loop) { self.metric(hub, "attendance_hub_messages_in_total") == 1 })

        let started = EventLoop.monotonicNs()
        XCTAssertEqual(kill(hub.pid, SIGTERM), 0)
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { !hub.isRunning }, "the hub did not exit")
        let elapsedMs = (EventLoop.monotonicNs() - started) / 1_000_000
        XCTAssertEqual(hub.exitStatus, 0)
        XCTAssertGreaterThanOrEqual(elapsedMs, 900, "the hub did not wait for the silent client")
        XCTAssertTrue(runLoop(loop) { answering.closeCode != nil })
        XCTAssertEqual(answering.closeCode, 1001)
        silent.close()
        print("hub exited \(elapsedMs) ms after SIGTERM with a client that never answers (grace 1000 ms)")
    }
}
