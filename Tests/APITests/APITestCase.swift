@testable import API
import Attendance
import EventLoop
import HTTP
import JSON
import Logging
import RedisClient
import TestSupport
import XCTest

/// Wall-clock time the tests move: real time plus an offset, or a fixed instant.
final class TestClock {
    var offsetMs: Int64 = 0
    var fixedMs: Int64?
    func now() -> Int64 { fixedMs ?? (EventLoop.wallClockMs() + offsetMs) }
}

/// Shared set-up: an APIServer on its own loop against a real redis-server, driven over real
/// sockets with HTTPClient.
class APITestCase: XCTestCase {
    var loop: EventLoop!
    var server: APIServer!
    let clock = TestClock()
    // The development secrets, shared with `attendance hub --dev` processes in end-to-end tests.
    let signer = TokenSigner(secret: "dev-secret-change-me")
    let qrKey = Array("dev-qr-key-change-me".utf8)
    let publicURL = "https://attend.example.edu"

    override func setUpWithError() throws {
        loop = try EventLoop()
        try startServer()
    }

    override func tearDown() {
        stopServer()
        loop = nil
    }

    func startServer(redis: RedisServer = .shared, configure: (inout APIConfiguration) -> Void = { _ in }) throws {
        var configuration = APIConfiguration(listen: try SocketAddress(parsing: "127.0.0.1:0"),
                                             redis: RedisConfiguration(host: redis.host, port: redis.port),
                                             signer: signer, qrKey: qrKey, publicURL: publicURL)
        // Limits and the sweep are off unless a test turns them on: the shared Redis counts failures
        // from 127.0.0.1 across tests, and a moved clock must not close other tests' classes.
        configuration.limits.failuresPerAddress = nil
        configuration.classCreationsPerTeacher = 1_000_000
        configuration.sweepIntervalMs = 3_600_000
        configure(&configuration)
        var logger = Logger(label: "api-test")
        logger.logLevel = .critical
        let server = APIServer(configuration: configuration, loop: loop, logger: logger, clock: { [clock] in clock.now() })
        try server.start(handleSignals: false)
        self.server = server
        XCTAssertTrue(runLoop(loop) { server.redis.isConnected }, "Redis did not connect")
    }

    func stopServer() {
        guard let server else { return }
        server.shutdown()
        runLoop(loop, timeoutMs: 2000) { server.hasStopped }
        runLoop(loop, timeoutMs: 50) { false }
        self.server = nil
    }

    // MARK: - HTTP

    /// Sends one request on a fresh connection and waits for the response.
    func request(_ method: String, _ path: String, token: String? = nil, json: String? = nil, body: [UInt8]? = nil,
                 headers: HTTPHeaders = [], file: StaticString = #filePath, line: UInt = #line) -> HTTPClientResponse {
        var headers = headers
        if let token { headers.add("Authorization", "Bearer \(token)") }
        if json != nil { headers.add("Content-Type", "application/json") }
        let bytes = body ?? json.map { Array($0.utf8) } ?? []
        var result: Result<HTTPClientResponse, HTTPClientError>?
        var client: HTTPClient?
        HTTPClient.connect(loop: loop, address: server.address!) { connected in
            switch connected {
            case .success(let c):
                client = c
                c.send(method: method, path: path, headers: headers, body: bytes) { result = $0 }
            case .failure(let error):
                result = .failure(error)
            }
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { result != nil }, "no response to \(method) \(path)", file: file, line: line)
        client?.close()
        switch result {
        case .success(let response)?:
            return response
        case .failure(let error)?:
            XCTFail("\(method) \(path) failed: \(error)", file: file, line: line)
        case nil:
            break
        }
        return HTTPClientResponse(status: 0)
    }

    func json(_ response: HTTPClientResponse, file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        do {
            return try JSON.parse(response.body)
        } catch {
            XCTFail("body is not JSON: \(response.bodyText)", file: file, line: line)
            return .null
        }
    }

    /// Asserts the PROTOCOL.md error shape with `status` and `code`; returns the message.
    @discardableResult
    func assertError(_ response: HTTPClientResponse, _ status: Int, _ code: String,
                     file: StaticString = #filePath, line: UInt = #line) -> String {
        XCTAssertEqual(response.status, status, response.bodyText, file: file, line: line)
        let body = json(response, file: file, line: line)
        XCTAssertEqual(body["error"]?["code"]?.string, code, response.bodyText, file: file, line: line)
        XCTAssertEqual(body["error"]?.object?.count, 2, "error has exactly code and message", file: file, line: line)
        XCTAssertEqual(response.headers["Content-Type"], "application/json", file: file, line: line)
        return body["error"]?["message"]?.string ?? ""
    }

    // MARK: - Tokens and fixtures

    func token(_ role: Role, _ sub: String, classId: String? = nil, ttlS: Int64 = 3600) -> String {
        let now = clock.now() / 1000
        return signer.sign(AccessClaims(sub: sub, role: role, iat: now, exp: now + ttlS, cls: classId))
    }

    var teacher: String { token(.teacher, "t1") }

    /// Creates a class as teacher t1 and returns the 201 body.
    @discardableResult
    func createClass(_ body: String = #"{"name":"Algebra"}"#, as bearer: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        let response = request("POST", "/v1/classes", token: bearer ?? teacher, json: body)
        XCTAssertEqual(response.status, 201, response.bodyText, file: file, line: line)
        return json(response, file: file, line: line)
    }

    /// Joins with `credential` (a JSON member like `"code":"123456"`) and returns the response.
    func join(_ credential: String, student: String, name: String? = nil) -> HTTPClientResponse {
        let nameField = name.map { #","name":"\#($0)""# } ?? ""
        return request("POST", "/v1/join", json: #"{\#(credential),"student_id":"\#(student)"\#(nameField)}"#)
    }

    /// Joins by code and returns the student token.
    func studentToken(_ created: JSONValue, student: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let response = join(#""code":"\#(created["code"]?.string ?? "")""#, student: student)
        XCTAssertEqual(response.status, 200, response.bodyText, file: file, line: line)
        return json(response)["access_token"]?.string ?? ""
    }

    func qr(classId: String, window: Int64) -> String {
        QRToken.make(classId: classId, window: window, key: qrKey)
    }

    func currentWindow(periodS: Int64 = 15) -> Int64 { clock.now() / (periodS * 1000) }

    func attendanceRow(_ classId: String, _ student: String) -> JSONValue? {
        let list = json(request("GET", "/v1/classes/\(classId)/attendance", token: teacher))
        return list["students"]?.array?.first { $0["student_id"]?.string == student }
    }
}
