@testable import Attendance
import EventLoop
import JSON
import Logging
import RedisClient
import TestSupport
import XCTest

/// A ClassStore on a real redis-server, with a clock the test moves.
class StoreTestCase: XCTestCase {
    final class Clock: @unchecked Sendable {
        var nowMs: Int64 = EventLoop.wallClockMs()
    }

    let logger = Logger(label: "attendance-test")
    let qrKey = Array("dev-qr-key-change-me".utf8)
    let signer = TokenSigner(secret: "dev-secret-change-me")
    let teacher = Actor(id: "t1", role: .teacher)
    let admin = Actor(id: "root", role: .admin)
    var server: RedisServer { RedisServer.shared }
    var loop: EventLoop!
    var redis: RedisClient!
    var store: ClassStore!
    var clock: Clock!

    override func setUpWithError() throws {
        loop = try EventLoop()
        redis = RedisClient(loop: loop, configuration: RedisConfiguration(host: server.host, port: server.port), logger: logger)
        redis.connect()
        XCTAssertTrue(runLoop(loop) { self.redis.isConnected })
        let clock = Clock()
        self.clock = clock
        store = ClassStore(redis: redis, signer: signer, qrKey: qrKey, logger: logger, clock: { clock.nowMs })
        // Failure counting is on only where a test checks it (with its own address): failures from
        // the fixed test addresses would otherwise add up across tests.
        store.limits.failuresPerAddress = nil
    }

    override func tearDown() {
        redis?.close()
        _ = runLoop(loop, timeoutMs: 20) { false }
        store = nil
        redis = nil
        loop = nil
    }

    /// Starts an operation and steps the loop until it completes.
    func wait<T>(file: StaticString = #filePath, line: UInt = #line,
                 _ start: (@escaping (Result<T, AttendanceError>) -> Void) -> Void) -> Result<T, AttendanceError> {
        var result: Result<T, AttendanceError>?
        start { result = $0 }
        guard runLoop(loop, until: { result != nil }), let result else {
            XCTFail("operation did not complete", file: file, line: line)
            return .failure(.unavailable)
        }
        return result
    }

    func succeed<T>(file: StaticString = #filePath, line: UInt = #line,
                    _ start: (@escaping (Result<T, AttendanceError>) -> Void) -> Void) throws -> T {
        switch wait(file: file, line: line, start) {
        case .success(let value): return value
        case .failure(let error):
            XCTFail("unexpected \(error)", file: file, line: line)
            throw error
        }
    }

    func fail<T>(_ expected: AttendanceError, file: StaticString = #filePath, line: UInt = #line,
                 _ start: (@escaping (Result<T, AttendanceError>) -> Void) -> Void) {
        switch wait(file: file, line: line, start) {
        case .success(let value): XCTFail("expected \(expected), got \(value)", file: file, line: line)
        case .failure(let error): XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    /// A raw command on the test's client.
    func command(_ args: String...) -> RedisValue? {
        var reply: Result<RedisValue, RedisError>?
        redis.send(args) { reply = $0 }
        runLoop(loop) { reply != nil }
        return try? reply?.get()
    }

    func create(roster: [String] = ["s1", "s2", "s3"], lateAfterS: Int = 600, durationS: Int = 3600,
                allowCode: Bool = false) throws -> CreatedClass {
        try succeed { store.createClass(CreateClassRequest(name: "Math 101", roster: roster, lateAfterS: lateAfterS,
                                                           durationS: durationS, allowCodeCheckin: allowCode),
                                        actor: teacher, address: "10.0.0.1", completion: $0) }
    }

    func student(_ id: String, in classId: String) -> Actor { Actor(id: id, role: .student, classId: classId) }

    func currentQR(_ created: CreatedClass) -> String {
        QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: clock.nowMs, key: qrKey).qr
    }

    func checkin(_ studentId: String, _ created: CreatedClass, proof: CheckinProof? = nil) -> Result<CheckinResult, AttendanceError> {
        wait { store.checkin(classId: created.classId, actor: student(studentId, in: created.classId),
                             proof: proof ?? .qr(currentQR(created)), address: "10.0.0.2", completion: $0) }
    }

    /// The stored events of a class, parsed, with their stream ids.
    func storedEvents(_ classId: String) -> [(id: String, json: [UInt8], value: JSONValue)] {
        guard let entries = command("XRANGE", eventsKey(classId), "-", "+")?.array else { return [] }
        return entries.compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].text, let fields = parts[1].array,
                  let index = fields.firstIndex(of: .string(Array("e".utf8))), index + 1 < fields.count,
                  let json = fields[index + 1].bytes, let value = try? JSON.parse(json)
            else { return nil }
            return (id, json, value)
        }
    }

    func streamLength(_ key: String) -> Int64 { command("XLEN", key)?.int ?? -1 }
}
