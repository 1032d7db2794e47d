import Foundation
import TestSupport
import XCTest

/// `attendance-load classroom --chaos` refuses a fault it cannot carry out, before it touches any
/// server, with one clear message.
final class ChaosOptionsTests: XCTestCase {
    private func run(_ chaos: [String]) throws -> (status: Int32, stderr: String) {
        let binary = URL(fileURLWithPath: AttendanceProcess.executable).deletingLastPathComponent()
            .appendingPathComponent("attendance-load").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        // Nothing listens on these ports: validation must fail first.
        process.arguments = ["classroom", "--classes", "1", "--students", "1", "--hub", "ws://127.0.0.1:1",
                             "--api", "http://127.0.0.1:1"] + chaos
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr)
    }

    func testUnknownFaultIsRefused() throws {
        let (status, stderr) = try run(["--chaos", "explode@1s"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stderr.contains("kill-redis, stop-redis, kill-hub, kill-api"), stderr)
    }

    func testKillRedisNeedsAPidAndARestartCommand() throws {
        let (status, stderr) = try run(["--chaos", "kill-redis@1s", "--redis-pid", "1"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stderr.contains("--redis-restart"), stderr)
    }

    func testMoreHubKillsThanHubsIsRefused() throws {
        let (status, stderr) = try run(["--chaos", "kill-hub@1s,kill-hub@2s", "--hub-pid", "1"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stderr.contains("only 1 --hub-pid"), stderr)
    }

    func testBadTimeIsRefused() throws {
        let (status, stderr) = try run(["--chaos", "stop-redis@soon", "--redis-pid", "1"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stderr.contains("bad time"), stderr)
    }
}
