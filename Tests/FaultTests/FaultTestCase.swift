import EventLoop
import Foundation
import Glibc
import TestSupport
import XCTest

/// Shared set-up for fault tests: a private durable redis-server (AOF, `appendfsync always`) that a
/// test may kill, stop or restart, real `attendance hub` / `api` processes, and the real
/// `attendance-load` as chaos runner. Every process is ended in tearDown, a stopped Redis is
/// continued first, so a failing test leaves nothing behind.
class FaultTestCase: XCTestCase {
    var redis: RedisServer!
    var processes: [AttendanceProcess] = []
    var loop: EventLoop!
    var clients: [TestClient] = []

    override func setUpWithError() throws {
        redis = try RedisServer(durable: true)
        loop = try EventLoop()
    }

    override func tearDown() {
        for client in clients { client.client?.disconnect() }
        runLoop(loop, timeoutMs: 500) { self.clients.allSatisfy { $0.closeCode != nil } }
        clients = []
        redis?.signal(SIGCONT)
        for process in processes { process.kill9() }
        processes = []
        redis?.stop()
        if let directory = redis?.directory { try? FileManager.default.removeItem(atPath: directory) }
        redis = nil
        loop = nil
    }

    /// A hub on a free port (or `port`, shared with `--reuse-port`).
    func startHub(port: Int? = nil, extra: [String] = []) throws -> AttendanceProcess {
        let hub = try AttendanceProcess("hub", redis: redis, port: port, extra: extra, logLevel: "error")
        processes.append(hub)
        return hub
    }

    /// An api whose join limits let a whole load-test class join from 127.0.0.1.
    func startAPI(extra: [String] = ["--join-limit-per-address", "100000", "--join-limit-per-code", "100000"]) throws -> AttendanceProcess {
        let api = try AttendanceProcess("api", redis: redis, extra: extra, logLevel: "error")
        processes.append(api)
        return api
    }

    /// A token signed with the development secret (`attendance token --dev`).
    func token(role: String, sub: String, classId: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AttendanceProcess.executable)
        process.arguments = ["token", "--dev", "--role", role, "--sub", sub] + (classId.map { ["--class", $0] } ?? [])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A class created through the api (code check-in allowed) and one joined student:
    /// (class id, code, teacher token, student token).
    func classWithStudent(api: AttendanceProcess, teacher: String = "t1") throws
        -> (classId: String, code: String, teacher: String, student: String) {
        let teacherToken = try token(role: "teacher", sub: teacher)
        let created = try XCTUnwrap(httpRequest(port: api.port, method: "POST", path: "/v1/classes", token: teacherToken,
                                                json: #"{"name":"Fault","allow_code_checkin":true}"#))
        XCTAssertEqual(created.status, 201, created.body)
        let classId = try XCTUnwrap(created.json?["class_id"] as? String)
        let code = try XCTUnwrap(created.json?["code"] as? String)
        let joined = try XCTUnwrap(httpRequest(port: api.port, method: "POST", path: "/v1/join",
                                               json: #"{"code":"\#(code)","student_id":"s1"}"#))
        XCTAssertEqual(joined.status, 200, joined.body)
        return (classId, code, teacherToken, try XCTUnwrap(joined.json?["access_token"] as? String))
    }

    /// A WebSocket client on `port`, connected (or failed) before this returns.
    func connect(port: Int, token: String) -> TestClient {
        let client = TestClient.connect(loop: loop, port: port, token: token)
        clients.append(client)
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { client.isConnected || client.closeCode != nil }, "connect to \(port)")
        return client
    }

    /// Runs the real `attendance-load` (built beside `attendance`) with `--json`; the exit status,
    /// the parsed result object, and stderr.
    func runLoad(_ arguments: [String]) throws -> (status: Int32, json: [String: Any]?, stderr: String) {
        try Self.runLoad(arguments, directory: redis.directory)
    }

    /// `runLoad` with its output files in `directory` (callable off the test's thread).
    static func runLoad(_ arguments: [String], directory: String) throws -> (status: Int32, json: [String: Any]?, stderr: String) {
        let binary = URL(fileURLWithPath: AttendanceProcess.executable).deletingLastPathComponent()
            .appendingPathComponent("attendance-load").path
        let output = directory + "/load-\(UInt32.random(in: 0...UInt32.max)).json"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments + ["--json", output]
        // stderr goes to a file, not a pipe: a Redis the tool restarted must not hold our read open.
        let errorPath = output + ".stderr"
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? errors.close()
        let stderr = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        guard let data = FileManager.default.contents(atPath: output) else { return (process.terminationStatus, nil, stderr) }
        return (process.terminationStatus, try JSONSerialization.jsonObject(with: data) as? [String: Any], stderr)
    }

    /// The classroom chaos run's invariants: every check-in acknowledged (after retries) and in the
    /// final export, every dashboard with every event exactly once and in order.
    func assertNothingLost(_ result: (status: Int32, json: [String: Any]?, stderr: String), checkins: Int,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let json = try XCTUnwrap(result.json, result.stderr, file: file, line: line)
        XCTAssertEqual(json["checkins"] as? Int, checkins, result.stderr, file: file, line: line)
        XCTAssertEqual(json["acked"] as? Int, checkins, "every check-in is acknowledged in the end\n" + result.stderr, file: file, line: line)
        XCTAssertEqual(json["lost_acked"] as? Int, 0, "acknowledged check-ins missing from the export\n" + result.stderr, file: file, line: line)
        XCTAssertEqual(json["lost_events"] as? Int, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(json["duplicate_events"] as? Int, 0, result.stderr, file: file, line: line)
        XCTAssertEqual(json["errors"] as? Int, 0, "errors (events out of order count as errors)\n" + result.stderr, file: file, line: line)
    }

    /// The first (only) fault record of a chaos run.
    func fault(_ json: [String: Any]?) -> [String: Any]? { (json?["faults"] as? [[String: Any]])?.first }
}
