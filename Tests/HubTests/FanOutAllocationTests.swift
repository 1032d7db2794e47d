import Attendance
import CAllocationCounter
import EventLoop
@testable import Hub
import Logging
import RedisClient
import TestSupport
import XCTest

/// "Fan-out encodes once" (DESIGN.md), kept from regressing: the allocations one live event costs
/// the hub, from the pub/sub payload to the last subscriber's write, do not grow with the number of
/// subscribers. A hub worker runs in this process on its own loop (stepped by the test on this
/// thread), with real sockets, a real Redis and real WebSocket clients; the test bundle's malloc
/// counts the calls made on this thread while the worker handles one event.
final class FanOutAllocationTests: HubTestCase {
    /// Allocations per event that do not depend on the audience: parsing the event's routing
    /// header, the framed copy every subscriber shares, the event object, the room's batch.
    /// 117 in the debug build `make test` runs, almost all in the standard library's unspecialized
    /// generic code that parses the header; the bound catches a new per-event cost, while the
    /// comparison of audiences (1 and 64) catches any per-subscriber one.
    static let maxAllocationsPerEvent = 150

    func testOneEventToManySubscribersAllocatesTheSameAsToOne() throws {
        guard allocation_counter_start() == 0 else {
            _ = allocation_counter_stop()
            throw XCTSkip("allocation counting is unavailable under a sanitizer")
        }
        _ = allocation_counter_stop()

        let created = try createClass()
        let worker = try startInProcessWorker()
        defer { stopInProcessWorker(worker) }
        XCTAssertTrue(step(worker) { worker.redis.isHealthy && worker.subscriber.isHealthy })
        let port = try XCTUnwrap(worker.listeningAddress?.port)

        var subscribed: [TestClient] = []
        var counts: [Int: Int] = [:]
        var offset = EventLoop.wallClockMs() + 60_000  // past anything the class has
        for audience in [1, 64] {
            let newcomers = (subscribed.count..<audience).map { _ in TestClient.connect(loop: loop, port: port, token: token(.teacher, "t1")) }
            clients += newcomers
            XCTAssertTrue(step(worker) { newcomers.allSatisfy(\.isConnected) })
            for client in newcomers { client.send(["type": "subscribe", "class_id": created.classId]) }
            XCTAssertTrue(step(worker) { newcomers.allSatisfy { $0.messages(type: "subscribed").count == 1 } })
            subscribed += newcomers
            // Warm up: the first event through a room sizes its batch and the flush queue.
            for _ in 0..<3 {
                offset += 1
                _ = fanOut(worker, classId: created.classId, offset: offset)
            }
            offset += 1
            counts[audience] = fanOut(worker, classId: created.classId, offset: offset)
            let expected = "\(offset)-0"
            XCTAssertTrue(step(worker) { subscribed.allSatisfy { $0.messages(type: "event").last?["offset"]?.string == expected } },
                          "every subscriber receives the event")
        }
        let one = try XCTUnwrap(counts[1]), many = try XCTUnwrap(counts[64])
        XCTAssertEqual(many, one, "allocations for one event: \(one) to 1 subscriber, \(many) to 64")
        XCTAssertLessThanOrEqual(one, Self.maxAllocationsPerEvent)
        XCTAssertGreaterThan(one, 0, "the counter saw the event's own allocations")
    }

    /// Hands one stored event to the worker as its pub/sub connection would, and writes it out as
    /// the end of the loop turn would; returns the allocations made meanwhile.
    private func fanOut(_ worker: HubWorker, classId: String, offset: Int64) -> Int {
        let payload = #"{"type":"event","class_id":"\#(classId)","offset":"\#(offset)-0","event":"checked_in","student_id":"s1","status":"present","at_ms":\#(offset),"method":"qr"}"#
        let channel = liveChannel(classId)
        return Array(payload.utf8).withUnsafeBytes { bytes in
            _ = allocation_counter_start()
            worker.received(channel: channel, payload: bytes)
            worker.registry.flush()
            return allocation_counter_stop()
        }
    }
}
