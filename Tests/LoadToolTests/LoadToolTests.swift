import Foundation
import Glibc
import TestSupport
import XCTest

/// Runs the real `attendance-load` binary against a real hub, API and Redis, and checks the result
/// object it writes (PROTOCOL.md "Command line"): behaviour, never timings.
final class LoadToolTests: XCTestCase {
    nonisolated(unsafe) static var hub: AttendanceProcess?
    nonisolated(unsafe) static var api: AttendanceProcess?

    /// The result keys, in the documented order.
    static let resultKeys = ["scenario", "clients", "checkins", "errors", "lost_events", "duplicate_events",
                             "ack_latency_ms", "event_latency_ms", "messages_per_s", "hub_rss_kib", "hub_rss_per_conn_bytes",
                             "acked", "lost_acked", "retries", "reconnects", "faults"]

    override class func setUp() {
        super.setUp()
        let redis = RedisServer.shared
        hub = try? AttendanceProcess("hub", redis: redis)
        // Default limits: a whole class joining from 127.0.0.1 must get in.
        api = try? AttendanceProcess("api", redis: redis)
    }

    override class func tearDown() {
        api?.stop()
        hub?.stop()
        super.tearDown()
    }

    private func servers() throws -> (hub: AttendanceProcess, api: AttendanceProcess) {
        guard let hub = Self.hub, let api = Self.api else {
            // A server that cannot start is a failure of this test run, not a reason to skip it.
            XCTFail("hub or api did not start (see the log above)")
            throw ServersDidNotStart()
        }
        return (hub, api)
    }

    private struct ServersDidNotStart: Error {}

    func testClassroomChecksEveryStudentInWithoutErrorsLossOrDuplicates() throws {
        let (hub, api) = try servers()
        let (status, result, stderr) = try runLoad(["classroom", "--classes", "4", "--students", "50", "--window-s", "3",
                                                     "--hub", "ws://\(hub.address)", "--api", "http://\(api.address)"])
        XCTAssertEqual(status, 0, stderr)
        let json = try XCTUnwrap(result, stderr)
        XCTAssertEqual(json["scenario"] as? String, "classroom")
        XCTAssertEqual(json["errors"] as? Int, 0, stderr)
        XCTAssertEqual(json["lost_events"] as? Int, 0, stderr)
        XCTAssertEqual(json["duplicate_events"] as? Int, 0, stderr)
        XCTAssertEqual(json["checkins"] as? Int, 200)
        XCTAssertEqual(json["acked"] as? Int, 200)
        XCTAssertEqual(json["lost_acked"] as? Int, 0, "every acknowledged check-in is in the export")
        XCTAssertTrue(json["faults"] is NSNull, "no --chaos, no fault records")
        XCTAssertEqual(json["clients"] as? Int, 204)
        for key in ["ack_latency_ms", "event_latency_ms"] {
            let latency = try XCTUnwrap(json[key] as? [String: Any], key)
            XCTAssertEqual(Set(latency.keys), ["p50", "p90", "p99", "p999", "max"])
        }
        for key in ["messages_per_s", "hub_rss_kib", "hub_rss_per_conn_bytes"] {
            XCTAssertTrue(json[key] is NSNull, "\(key) is not measured by classroom and must be null")
        }
    }

    func testFanoutDeliversEveryEventToEverySubscriber() throws {
        let (hub, api) = try servers()
        let (status, result, stderr) = try runLoad(["fanout", "--classes", "2", "--subscribers", "10", "--rate", "20",
                                                     "--duration-s", "1", "--hub", "ws://\(hub.address)",
                                                     "--api", "http://\(api.address)"])
        XCTAssertEqual(status, 0, stderr)
        let json = try XCTUnwrap(result, stderr)
        XCTAssertEqual(json["scenario"] as? String, "fanout")
        XCTAssertEqual(json["clients"] as? Int, 10)
        XCTAssertEqual(json["errors"] as? Int, 0, stderr)
        XCTAssertEqual(json["lost_events"] as? Int, 0, stderr)
        XCTAssertEqual(json["duplicate_events"] as? Int, 0, stderr)
        XCTAssertGreaterThan(json["messages_per_s"] as? Double ?? 0, 0)
        XCTAssertNotNil(json["event_latency_ms"] as? [String: Any])
        XCTAssertTrue(json["checkins"] is NSNull)
    }

    func testIdleReadsTheHubsMemory() throws {
        let (hub, _) = try servers()
        let (status, result, stderr) = try runLoad(["idle", "--clients", "50", "--hub-pid", String(hub.pid), "--hold-s", "1",
                                                     "--hub", "ws://\(hub.address)"], extraKeys: ["hub_anon_per_conn_bytes"])
        XCTAssertEqual(status, 0, stderr)
        let json = try XCTUnwrap(result, stderr)
        XCTAssertEqual(json["scenario"] as? String, "idle")
        XCTAssertNotNil(json["hub_anon_per_conn_bytes"] as? Int)
        XCTAssertEqual(json["clients"] as? Int, 50)
        XCTAssertEqual(json["errors"] as? Int, 0, stderr)
        XCTAssertGreaterThan(json["hub_rss_kib"] as? Int ?? 0, 0)
        XCTAssertNotNil(json["hub_rss_per_conn_bytes"] as? Int)
        XCTAssertTrue(json["ack_latency_ms"] is NSNull)
    }

    func testPingPongGetsEveryPingAnsweredWithoutErrors() throws {
        let (hub, _) = try servers()
        let (status, result, stderr) = try runLoad(["pingpong", "--clients", "10", "--depth", "4", "--duration-s", "1",
                                                     "--hub", "ws://\(hub.address)"])
        XCTAssertEqual(status, 0, stderr)
        let json = try XCTUnwrap(result, stderr)
        XCTAssertEqual(json["scenario"] as? String, "pingpong")
        XCTAssertEqual(json["clients"] as? Int, 10)
        XCTAssertEqual(json["errors"] as? Int, 0, stderr)
        XCTAssertGreaterThan(json["messages_per_s"] as? Double ?? 0, 0, stderr)
        let latency = try XCTUnwrap(json["ack_latency_ms"] as? [String: Any], stderr)
        XCTAssertEqual(Set(latency.keys), ["p50", "p90", "p99", "p999", "max"])
        for key in ["checkins", "lost_events", "duplicate_events", "event_latency_ms", "hub_rss_kib", "hub_rss_per_conn_bytes"] {
            XCTAssertTrue(json[key] is NSNull, "\(key) is not measured by pingpong and must be null")
        }
        XCTAssertTrue(stderr.contains("closed loop"), "the summary says latency is closed-loop: \(stderr)")
    }

    /// The well-behaved classroom gets through without errors while every attacker is cut off: the ping
    /// flooder dropped, the subscribe flooder answered rate_limited and closed with 1008, oversized
    /// messages closed with 1009, wrong codes refused. Behaviour only; the latencies go to BENCHMARKS.md.
    func testHostileCutsOffEveryAttackerAndServesTheClassroomWithoutErrors() throws {
        let (hub, api) = try servers()
        let (status, result, stderr) = try runLoad(["hostile", "--classes", "2", "--students", "5", "--window-s", "3",
                                                     "--baseline", "--subscribe-pairs", "300", "--slow-loris", "2",
                                                     "--connect-drops", "100", "--hub", "ws://\(hub.address)",
                                                     "--api", "http://\(api.address)"],
                                                    extraKeys: ["baseline", "attackers"])
        XCTAssertEqual(status, 0, stderr)
        let json = try XCTUnwrap(result, stderr)
        XCTAssertEqual(json["scenario"] as? String, "hostile")
        XCTAssertEqual(json["errors"] as? Int, 0, stderr)
        XCTAssertEqual(json["lost_events"] as? Int, 0, stderr)
        XCTAssertEqual(json["checkins"] as? Int, 10, stderr)
        let baseline = try XCTUnwrap(json["baseline"] as? [String: Any], stderr)
        XCTAssertEqual(baseline["errors"] as? Int, 0, stderr)
        XCTAssertNotNil(baseline["event_latency_ms"] as? [String: Any])
        let attackers = try XCTUnwrap(json["attackers"] as? [String: [String: Any]], stderr)
        func outcomes(_ name: String) -> [String: Int] { attackers[name]?["outcomes"] as? [String: Int] ?? [:] }
        XCTAssertTrue(outcomes("ping_flood").keys.contains { $0.hasPrefix("dropped by hub") || $0.hasPrefix("closed by hub") }, stderr)
        XCTAssertGreaterThan(outcomes("subscribe_flood")["reply rate_limited"] ?? 0, 0, stderr)
        XCTAssertGreaterThan(outcomes("subscribe_flood")["closed 1008 rate limit exceeded"] ?? 0, 0, stderr)
        XCTAssertGreaterThan(outcomes("oversized_frames")["closed 1009 message too big"] ?? 0, 0, stderr)
        XCTAssertEqual(attackers["connect_drop"]?["sent"] as? Int, 100, stderr)
        XCTAssertFalse(outcomes("rest_wrong_code").isEmpty, stderr)
        XCTAssertFalse(outcomes("rest_wrong_code").keys.contains { $0.hasPrefix("http 2") }, stderr)
        XCTAssertFalse(outcomes("ws_wrong_code").keys.contains { $0 == "reply ack" }, stderr)
        // Past 10 failures a minute the guessers' address is refused, over REST and over the WebSocket.
        XCTAssertGreaterThan(outcomes("rest_wrong_code")["http 429 rate_limited"] ?? 0, 0, stderr)
        XCTAssertGreaterThan(outcomes("ws_wrong_code")["reply rate_limited"] ?? 0, 0, stderr)
    }

    func testUnreachableHubEndsWithOneClearMessage() throws {
        let port = freeTCPPort()
        let (status, result, stderr) = try runLoad(["idle", "--clients", "10", "--hub-pid", String(getpid()),
                                                     "--hub", "ws://127.0.0.1:\(port)"])
        XCTAssertNotEqual(status, 0)
        XCTAssertNil(result)
        XCTAssertTrue(stderr.contains("cannot reach the hub at ws://127.0.0.1:\(port)"), stderr)
        XCTAssertEqual(stderr.components(separatedBy: "Error:").count - 1, 1, stderr)
    }

    func testUnreachableAPIEndsWithOneClearMessage() throws {
        let (hub, _) = try servers()
        let port = freeTCPPort()
        let (status, _, stderr) = try runLoad(["classroom", "--classes", "1", "--students", "1", "--window-s", "1",
                                                "--hub", "ws://\(hub.address)", "--api", "http://127.0.0.1:\(port)"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stderr.contains("127.0.0.1:\(port)") && stderr.contains("refused"), stderr)
    }

    // MARK: helpers

    /// Runs `attendance-load` (built beside `attendance`) with `--json` to a temporary file; returns
    /// the exit status, the parsed result object when one was written, and stderr.
    /// `extraKeys`: what a scenario adds after the documented keys (hostile: baseline, attackers).
    private func runLoad(_ arguments: [String], extraKeys: [String] = []) throws -> (Int32, [String: Any]?, String) {
        let binary = URL(fileURLWithPath: AttendanceProcess.executable).deletingLastPathComponent()
            .appendingPathComponent("attendance-load").path
        let output = NSTemporaryDirectory() + "attendance-load-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments + ["--json", output]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The tool ends by itself; the read returns at its exit (its stderr closes).
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard let data = FileManager.default.contents(atPath: output) else { return (process.terminationStatus, nil, stderr) }
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        if let object {
            XCTAssertEqual(Set(object.keys), Set(Self.resultKeys + extraKeys), "the result object has exactly the documented keys")
            let text = String(decoding: data, as: UTF8.self)
            let positions = (Self.resultKeys + extraKeys).compactMap { text.range(of: "\"\($0)\":")?.lowerBound }
            XCTAssertEqual(positions, positions.sorted(), "keys in the documented order")
        }
        return (process.terminationStatus, object, stderr)
    }
}
