import EventLoop
import Foundation
import Glibc

/// A real `attendance hub` or `attendance api` process for end-to-end tests, on a free port, with
/// the development secrets. `stop()` sends SIGTERM (graceful shutdown) and waits.
public final class AttendanceProcess: @unchecked Sendable {
    public let port: Int
    public let kind: String
    private var process: Process?
    public private(set) var log = Pipe()
    public let arguments: [String]

    public var address: String { "127.0.0.1:\(port)" }

    /// The `attendance` executable built beside the test bundle (or ATTENDANCE_BIN).
    public static var executable: String {
        if let path = ProcessInfo.processInfo.environment["ATTENDANCE_BIN"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("attendance").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return bundle.appendingPathComponent("attendance").path
    }

    /// - Parameter logLevel: fault tests pass `error`: every request refused during an outage is a warning.
    public convenience init(_ kind: String, redis: RedisServer, port: Int? = nil, extra: [String] = [], logLevel: String = "warning") throws {
        try self.init(kind, redisArguments: ["--redis", redis.url], port: port, extra: extra, logLevel: logLevel)
    }

    /// On a Redis Cluster: `redisArguments` is `["--redis-cluster", cluster.nodeList]`.
    public init(_ kind: String, redisArguments: [String], port: Int? = nil, extra: [String] = [], logLevel: String = "warning") throws {
        self.kind = kind
        self.port = port ?? freeTCPPort()
        arguments = [kind, "--dev", "--listen", "127.0.0.1:\(self.port)"] + redisArguments + ["--log-level", logLevel] + extra
        try start()
    }

    public func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.executable)
        p.arguments = arguments
        log = Pipe()
        p.standardError = FileHandle.standardError
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if httpStatus(port: port, path: "/healthz") == 200 { return }
            guard p.isRunning else { break }
            usleep(20_000)
        }
        throw NSError(domain: "AttendanceProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "attendance \(kind) did not become healthy on port \(port)"])
    }

    /// SIGTERM and wait; returns the exit status. A process that has not exited 15 s later is
    /// killed (a hung shutdown must fail its test, not hang the suite).
    @discardableResult
    public func stop() -> Int32 {
        guard let p = process else { return 0 }
        if p.isRunning {
            kill(p.processIdentifier, SIGTERM)
            if waitForExit(timeout: 15) == nil { kill9() }
        }
        process = nil
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// `kill -9`: no shutdown at all, as in a crash.
    public func kill9() {
        guard let p = process else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// Sends `signal` (e.g. SIGTERM) without waiting.
    public func signal(_ signal: Int32) {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, signal)
    }

    /// Waits up to `timeout` seconds for the process to exit; its exit status, or nil if it still runs.
    public func waitForExit(timeout: TimeInterval) -> Int32? {
        guard let p = process else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning {
            if Date() > deadline { return nil }
            usleep(5_000)
        }
        return p.terminationReason == .exit ? p.terminationStatus : 128 + p.terminationStatus
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    public var pid: Int32 { process?.processIdentifier ?? 0 }

    /// The exit status once the process has exited.
    public var exitStatus: Int32? {
        guard let p = process, !p.isRunning else { return nil }
        return p.terminationStatus
    }

    deinit { stop() }
}

/// A blocking HTTP GET on loopback returning the status code (0 when nothing answered).
public func httpStatus(port: Int, path: String) -> Int {
    httpGet(port: port, path: path)?.status ?? 0
}

/// A blocking HTTP/1.0 GET on loopback: status and body, or nil when nothing answered.
public func httpGet(port: Int, path: String) -> (status: Int, body: String)? {
    httpRequest(port: port, method: "GET", path: path).map { ($0.status, $0.body) }
}
