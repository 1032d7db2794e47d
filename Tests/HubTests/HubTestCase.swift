import Attendance
import EventLoop
import JSON
import Logging
import RedisClient
import TestSupport
import XCTest

/// Shared set-up for end-to-end hub tests: a real redis-server, real `attendance hub` processes and
/// real WebSocket clients, all on loopback.
class HubTestCase: XCTestCase {
    var loop: EventLoop!
    var redis: RedisClient!
    var store: ClassStore!
    let signer = TokenSigner(secret: "dev-secret-change-me")
    let qrKey = Array("dev-qr-key-change-me".utf8)
    var hubs: [AttendanceProcess] = []
    var clients: [TestClient] = []

    override func setUpWithError() throws {
        loop = try EventLoop()
        let server = RedisServer.shared
        var configuration = RedisConfiguration(host: server.host, port: server.port)
        // Tests load long logs by pipelining tens of thousands of joins at once, from a test process
        // that a sanitizer may slow tenfold: a reply queued behind them is not a stalled Redis.
        configuration.commandTimeoutMs = 60_000
        redis = RedisClient(loop: loop, configuration: configuration, logger: Logger(label: "test"))
        redis.connect()
        XCTAssertTrue(runLoop(loop) { self.redis.isConnected })
        store = ClassStore(redis: redis, signer: signer, qrKey: qrKey, logger: Logger(label: "test"))
    }

    /// Joins `count` students (`<prefix>0`, `<prefix>1`, …) by code, all pipelined at once: a long
    /// class log for replay tests, far beyond the default cap of a class without a roster.
    func addJoins(_ created: CreatedClass, prefix: String, count: Int) throws {
        store.limits.classSizeLimit = max(store.limits.classSizeLimit, 100_000)
        var done = 0
        var failed = 0
        for i in 0..<count {
            store.join(.code(created.code), studentId: "\(prefix)\(i)", name: "Student number \(i) with a longer name", address: "127.0.0.1") {
                if case .success = $0 { done += 1 } else { failed += 1 }
            }
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 120_000) { done + failed == count })
        XCTAssertEqual(failed, 0)
    }

    override func tearDown() {
        for client in clients { client.client?.disconnect() }
        runLoop(loop, timeoutMs: 1000) { self.clients.allSatisfy { $0.closeCode != nil } }
        clients = []
        for hub in hubs { hub.stop() }
        hubs = []
        redis.close()
        runLoop(loop, timeoutMs: 200) { false }
        store = nil
        redis = nil
        loop = nil
    }

    func startHub(extra: [String] = [], port: Int? = nil) throws -> AttendanceProcess {
        let hub = try AttendanceProcess("hub", redis: RedisServer.shared, port: port, extra: extra)
        hubs.append(hub)
        return hub
    }

    func token(_ role: Role, _ sub: String, classId: String? = nil, ttlS: Int64 = 3600) -> String {
        let now = EventLoop.wallClockMs() / 1000
        return signer.sign(AccessClaims(sub: sub, role: role, iat: now, exp: now + ttlS, cls: classId))
    }

    func connect(_ hub: AttendanceProcess, token: String?) -> TestClient {
        let client = TestClient.connect(loop: loop, port: hub.port, token: token)
        clients.append(client)
        return client
    }

    func connected(_ hub: AttendanceProcess, token: String?, file: StaticString = #filePath, line: UInt = #line) -> TestClient {
        let client = connect(hub, token: token)
        XCTAssertTrue(runLoop(loop) { client.isConnected || client.connectError != nil }, file: file, line: line)
        return client
    }

    /// Waits for a completion-based store call.
    func wait<T>(_ start: (@escaping (Result<T, AttendanceError>) -> Void) -> Void, file: StaticString = #filePath, line: UInt = #line) throws -> T {
        var result: Result<T, AttendanceError>?
        start { result = $0 }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { result != nil }, "store call timed out", file: file, line: line)
        return try XCTUnwrap(result, file: file, line: line).get()
    }

    func createClass(teacher: String = "t1", roster: [String] = [], allowCode: Bool = false) throws -> CreatedClass {
        try wait { store.createClass(CreateClassRequest(name: "Algebra", roster: roster, allowCodeCheckin: allowCode),
                                     actor: Actor(id: teacher, role: .teacher), address: "127.0.0.1", completion: $0) }
    }

    func join(_ created: CreatedClass, student: String) throws -> JoinResult {
        try wait { store.join(.code(created.code), studentId: student, name: "Student \(student)", address: "127.0.0.1", completion: $0) }
    }

    /// Subscribes and waits for the `subscribed` reply.
    @discardableResult
    func subscribe(_ client: TestClient, _ classId: String, since: String? = nil, id: String = "s", file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        var message = ["type": "subscribe", "class_id": classId, "id": id]
        if let since { message["since"] = since }
        let before = client.messages(type: "subscribed").count
        client.send(message)
        XCTAssertTrue(runLoop(loop) { client.messages(type: "subscribed").count > before || !client.messages(type: "error").isEmpty || client.closeCode != nil },
                      file: file, line: line)
        return client.messages(type: "subscribed").last
    }

    func publish(_ channel: String, _ payload: String) {
        var done = false
        redis.send(["SPUBLISH", channel, payload]) { _ in done = true }
        runLoop(loop) { done }
    }

    func metric(_ hub: AttendanceProcess, _ name: String) -> Int? {
        guard let body = httpGet(port: hub.port, path: "/metrics")?.body else { return nil }
        for line in body.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(line.split(separator: " ").last!)
        }
        return nil
    }
}
