import Foundation
import TestSupport
import XCTest

/// The `attendance` executable's checks at start: secrets, token lifetimes, deprecated flags.
final class CommandLineTests: XCTestCase {
    /// Runs `attendance` and returns its exit status and stderr, or nil (after killing it) when it
    /// was still running after `timeoutS` — for a server, that means it started.
    private func run(_ arguments: [String], environment: [String: String] = [:], timeoutS: Double = 10)
        throws -> (status: Int32, stdout: String, stderr: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AttendanceProcess.executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("ATTENDANCE_") { env[key] = nil }
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(timeoutS)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        return (process.terminationStatus,
                String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    private let strong = String(repeating: "s", count: 32)

    func testServersRefuseSecretsShorterThan32Bytes() throws {
        // Port 1 is never a Redis: a server that got past the secrets would keep retrying, not exit.
        let redis = ["--redis", "redis://127.0.0.1:1", "--listen", "127.0.0.1:0"]
        for command in ["hub", "api"] {
            let cases: [([String: String], String)] = [
                (["ATTENDANCE_JWT_SECRET": "abc", "ATTENDANCE_QR_KEY": "def"], "ATTENDANCE_JWT_SECRET is 3 bytes"),
                (["ATTENDANCE_JWT_SECRET": strong, "ATTENDANCE_QR_KEY": "def"], "ATTENDANCE_QR_KEY is 3 bytes"),
                (["ATTENDANCE_JWT_SECRET": "new=\(strong),old=short", "ATTENDANCE_QR_KEY": strong], "key 'old' is 5 bytes"),
            ]
            for (environment, expected) in cases {
                let result = try XCTUnwrap(try run([command] + redis, environment: environment), "\(command) started with \(environment)")
                XCTAssertNotEqual(result.status, 0)
                XCTAssertTrue(result.stderr.contains(expected) && result.stderr.contains("at least 32 bytes"), result.stderr)
                XCTAssertFalse(result.stderr.contains("short") || result.stderr.contains("def"), "a secret is never printed")
            }
        }
    }

    func testTokenRefusesLifetimesTheServersWouldRefuse() throws {
        let teacher = try XCTUnwrap(try run(["token", "--dev", "--role", "teacher", "--sub", "t1", "--ttl-s", "90000"]))
        XCTAssertNotEqual(teacher.status, 0)
        XCTAssertTrue(teacher.stderr.contains("--ttl-s must be 1 to 86400"), teacher.stderr)
        let raised = try XCTUnwrap(try run(["token", "--dev", "--role", "teacher", "--sub", "t1", "--ttl-s", "90000",
                                            "--max-token-lifetime-s", "172800"]))
        XCTAssertEqual(raised.status, 0, raised.stderr)
        let student = try XCTUnwrap(try run(["token", "--dev", "--role", "student", "--sub", "s1", "--class", "c1", "--ttl-s", "90001"]))
        XCTAssertNotEqual(student.status, 0)
        let ok = try XCTUnwrap(try run(["token", "--dev", "--role", "teacher", "--sub", "t1"]))
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.stdout.split(separator: ".").count, 3)
    }

    func testDeprecatedJoinLimitFlagsAreAcceptedAndIgnored() throws {
        let api = try AttendanceProcess("api", redis: RedisServer.shared, extra: ["--join-limit-per-address", "5", "--join-limit-per-code", "5"])
        XCTAssertEqual(httpStatus(port: api.port, path: "/healthz"), 200)
        api.stop()
    }

    func testServersRefuseMalformedNetworkSettings() throws {
        let base = ["--dev", "--redis", "redis://127.0.0.1:1", "--listen", "127.0.0.1:0"]
        for command in ["hub", "api"] {
            let cases: [([String], [String: String], String)] = [
                (["--trusted-proxies", "127.0.0.1/32,proxy.local"], [:], "trusted_proxies: 'proxy.local' is not an IPv4 or IPv6 network"),
                ([], ["ATTENDANCE_ALLOWED_NETWORKS": "10.0.0.0/8, 10.0.0.0/99"], "allowed_networks: '10.0.0.0/99' is not"),
            ]
            for (flags, environment, expected) in cases {
                let result = try XCTUnwrap(try run([command] + base + flags, environment: environment), "\(command) started with \(flags)")
                XCTAssertNotEqual(result.status, 0)
                XCTAssertTrue(result.stderr.contains(expected), result.stderr)
            }
        }
    }

    func testAPIRefusesIncompleteOrBrokenOIDCSettings() throws {
        let base = ["api", "--dev", "--redis", "redis://127.0.0.1:1", "--listen", "127.0.0.1:0"]
        let allowList = NSTemporaryDirectory() + "attendance-allow-\(getpid()).txt"
        try "ada@school.example student\n".write(toFile: allowList, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: allowList) }
        let cases: [([String], [String: String], String)] = [
            (["--oidc-issuer", "http://idp.example"], [:], "oidc.issuer must be an https:// URL"),
            (["--oidc-issuer", "https://idp.example"], [:], "oidc.client_id is not"),
            (["--oidc-issuer", "https://idp.example", "--oidc-client-id", "att"], [:], "oidc.redirect_url (or api.public_url)"),
            (["--oidc-issuer", "https://idp.example", "--public-url", "https://att.example"],
             ["ATTENDANCE_OIDC_CLIENT_ID": "att", "ATTENDANCE_OIDC_CA_FILE": "/nonexistent.pem"], "oidc.ca_file /nonexistent.pem cannot be loaded"),
            (["--oidc-issuer", "https://idp.example", "--oidc-client-id", "att", "--public-url", "https://att.example",
              "--oidc-allow-list", allowList], [:], "line 1: expected `id teacher` or `id admin`"),
        ]
        for (flags, environment, expected) in cases {
            let result = try XCTUnwrap(try run(base + flags, environment: environment), "api started with \(flags)")
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains(expected), result.stderr)
        }
    }

    func testServersRefuseMalformedOrConflictingRedisClusterSettings() throws {
        let base = ["--dev", "--listen", "127.0.0.1:0"]
        for command in ["hub", "api"] {
            let cases: [([String], [String: String], String)] = [
                (["--redis-cluster", "127.0.0.1"], [:], "invalid Redis Cluster node list '127.0.0.1'"),
                (["--redis-cluster", "127.0.0.1:7001,127.0.0.1:99999"], [:], "invalid Redis Cluster node list"),
                ([], ["ATTENDANCE_REDIS_CLUSTER": "127.0.0.1:7001,,"], "invalid Redis Cluster node list"),
                (["--redis", "redis://127.0.0.1:1", "--redis-cluster", "127.0.0.1:7001"], [:], "not both"),
                ([], ["ATTENDANCE_REDIS": "redis://127.0.0.1:1", "ATTENDANCE_REDIS_CLUSTER": "127.0.0.1:7001"], "not both"),
            ]
            for (flags, environment, expected) in cases {
                let result = try XCTUnwrap(try run([command] + base + flags, environment: environment), "\(command) started with \(flags)")
                XCTAssertNotEqual(result.status, 0)
                XCTAssertTrue(result.stderr.contains(expected), result.stderr)
            }
        }
    }
}
