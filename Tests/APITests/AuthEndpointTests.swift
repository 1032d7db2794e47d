@testable import API
@testable import Attendance
import Foundation
import HTTP
import JSON
import TestSupport
import XCTest

/// Local accounts and sessions: `POST /v1/auth/login`, `/refresh`, `/logout`, `GET /v1/classes?mine=1`.
final class AuthEndpointTests: APITestCase {
    private let password = "correct horse battery"
    /// Ids unique per run: the shared Redis keeps accounts and failure counters between tests.
    private func freshId(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    private func addUser(_ id: String, role: Role = .teacher, name: String = "Ada Lovelace", password: String? = nil) {
        var result: Result<Void, AttendanceError>?
        server.store.addUser(id: id, role: role, name: name, passwordHash: PasswordHash.make(password ?? self.password)) { result = $0 }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { result != nil })
        if case .failure(let error)? = result { XCTFail("addUser: \(error)") }
    }

    private func disable(_ id: String) {
        var result: Result<Void, AttendanceError>?
        server.store.disableUser(id: id) { result = $0 }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { result != nil })
    }

    private func login(_ id: String, _ password: String? = nil) -> HTTPClientResponse {
        // Test ids and passwords need no escaping.
        request("POST", "/v1/auth/login", json: #"{"id":"\#(id)","password":"\#(password ?? self.password)"}"#)
    }

    private func cookieValue(_ response: HTTPClientResponse, file: StaticString = #filePath, line: UInt = #line) -> String {
        let header = response.headers["Set-Cookie"] ?? ""
        XCTAssertTrue(header.hasPrefix("att_refresh="), header, file: file, line: line)
        return String(header.dropFirst("att_refresh=".count).prefix { $0 != ";" })
    }

    private func withCookie(_ value: String) -> HTTPHeaders { ["Cookie": "theme=dark; att_refresh=\(value)"] }

    func testLoginAnswersA15MinuteTokenAndAStrictHttpOnlyCookie() throws {
        let id = freshId("t")
        addUser(id)
        let response = login(id)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let body = json(response)
        XCTAssertEqual(body["expires_in"], 900)
        XCTAssertEqual(body["user"], .object(["id": .string(id), "role": "teacher", "name": "Ada Lovelace"]))
        let token = try XCTUnwrap(body["access_token"]?.string)
        let claims = try signer.verify(token, nowS: clock.now() / 1000).get()
        XCTAssertEqual(claims.sub, id)
        XCTAssertEqual(claims.role, .teacher)
        XCTAssertEqual(claims.exp - claims.iat, 900)
        let cookie = try XCTUnwrap(response.headers["Set-Cookie"])
        XCTAssertEqual(cookie, "att_refresh=\(cookieValue(response)); HttpOnly; SameSite=Strict; Path=/v1/auth; Max-Age=2592000; Secure")
        XCTAssertEqual(response.headers["Cache-Control"], "no-store")
        // Only the token's hash is stored.
        let family = String(cookieValue(response).prefix { $0 != "." })
        let stored = RedisServer.shared.cli("HGETALL", Keys.session(family: family))
        XCTAssertTrue(stored.contains(id))
        XCTAssertFalse(stored.contains(String(cookieValue(response).split(separator: ".")[1])))
        XCTAssertEqual(request("GET", "/v1/classes?mine=1", token: token).status, 200, "the token works")
    }

    func testCookieIsNotSecureWhenThePublicURLIsHttp() throws {
        stopServer()
        try startServer { $0.publicURL = "http://attend.example.edu" }
        let id = freshId("t")
        addUser(id)
        let cookie = try XCTUnwrap(login(id).headers["Set-Cookie"])
        XCTAssertFalse(cookie.contains("Secure"), cookie)
        XCTAssertTrue(cookie.contains("HttpOnly; SameSite=Strict; Path=/v1/auth"), cookie)
    }

    func testUnknownIdWrongPasswordAndDisabledAccountGetTheSameAnswer() {
        let id = freshId("t"), off = freshId("t")
        addUser(id)
        addUser(off)
        disable(off)
        let answers = [login(freshId("nobody")), login(id, "wrong password!"), login(off), login("not an id!")]
        let messages = answers.map { assertError($0, 401, "unauthorized") }
        XCTAssertEqual(Set(messages), [APIHandlers.loginRefused])
        XCTAssertTrue(answers.allSatisfy { $0.headers["Set-Cookie"] == nil })
        assertError(request("POST", "/v1/auth/login", json: #"{"id":"x"}"#), 400, "bad_request")
        assertError(request("POST", "/v1/auth/login", json: #"{"id":"x","password":"p","extra":1}"#), 400, "bad_request")
    }

    func testEleventhFailedLoginToAnAccountIsRateLimitedEvenWithTheRightPassword() {
        let id = freshId("t")
        addUser(id)
        for _ in 0..<10 { assertError(login(id, "wrong password!"), 401, "unauthorized") }
        let limited = login(id)
        assertError(limited, 429, "rate_limited")
        let retry = Int(limited.headers["Retry-After"] ?? "") ?? 0
        XCTAssertTrue((1...900).contains(retry), "Retry-After \(retry)")
        // Another account is not affected.
        let other = freshId("t")
        addUser(other)
        XCTAssertEqual(login(other).status, 200)
    }

    func testLoginsBeyondTheHashesInFlightAnswer503() {
        let id = freshId("t")
        addUser(id)
        server.store.hashesInFlight = ClassStore.maxHashesInFlight
        assertError(login(id), 503, "unavailable")
        server.store.hashesInFlight = 0
        XCTAssertEqual(login(id).status, 200)
    }

    func testFailedLoginsCountAgainstTheAddress() throws {
        stopServer()
        let key = Keys.failures(address: "127.0.0.1")
        RedisServer.shared.cli("DEL", key)
        addTeardownBlock { RedisServer.shared.cli("DEL", key) }
        try startServer { $0.limits.failuresPerAddress = 3 }
        // Three different accounts, so only the address limit can trigger.
        for _ in 0..<3 { assertError(login(freshId("nobody")), 401, "unauthorized") }
        let id = freshId("t")
        addUser(id)
        assertError(login(id), 429, "rate_limited")
    }

    func testRefreshRotatesAndAReusedTokenRevokesTheFamily() throws {
        let id = freshId("t")
        addUser(id)
        let first = cookieValue(login(id))
        let refreshed = request("POST", "/v1/auth/refresh", headers: withCookie(first))
        XCTAssertEqual(refreshed.status, 200, refreshed.bodyText)
        XCTAssertEqual(json(refreshed)["user"]?["id"]?.string, id)
        XCTAssertNotNil(json(refreshed)["access_token"]?.string)
        let second = cookieValue(refreshed)
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(first.prefix { $0 != "." }, second.prefix { $0 != "." }, "same family")
        // The first token again: someone holds a copy, so the whole family ends, the newest token too.
        assertError(request("POST", "/v1/auth/refresh", headers: withCookie(first)), 401, "unauthorized")
        assertError(request("POST", "/v1/auth/refresh", headers: withCookie(second)), 401, "unauthorized")
        assertError(request("POST", "/v1/auth/refresh"), 401, "unauthorized")
        assertError(request("POST", "/v1/auth/refresh", headers: withCookie("garbage")), 401, "unauthorized")
    }

    /// Racing refreshes with one cookie (two tabs, or a thief and the owner): at most one rotates,
    /// the others count as reuse, so the family ends and no party keeps a working cookie.
    func testConcurrentRefreshesWithOneCookieLeaveNoWorkingSession() throws {
        let id = freshId("t")
        addUser(id)
        let cookie = cookieValue(login(id))
        var responses: [HTTPClientResponse] = []
        var clients: [HTTPClient] = []
        for _ in 0..<5 {
            HTTPClient.connect(loop: loop, address: server.address!) { connected in
                guard case .success(let client) = connected else { return XCTFail("connect failed") }
                clients.append(client)
                client.send(method: "POST", path: "/v1/auth/refresh", headers: self.withCookie(cookie), body: []) { result in
                    if case .success(let response) = result { responses.append(response) } else { XCTFail("\(result)") }
                }
            }
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { responses.count == 5 })
        for client in clients { client.close() }
        let winners = responses.filter { $0.status == 200 }
        XCTAssertLessThanOrEqual(winners.count, 1, responses.map(\.bodyText).joined(separator: "\n"))
        XCTAssertEqual(responses.filter { $0.status == 401 }.count, 5 - winners.count)
        for winner in winners {
            assertError(request("POST", "/v1/auth/refresh", headers: withCookie(cookieValue(winner))), 401, "unauthorized")
        }
    }

    func testLogoutRevokesTheFamilyAndClearsTheCookie() {
        let id = freshId("t")
        addUser(id)
        let cookie = cookieValue(login(id))
        let out = request("POST", "/v1/auth/logout", headers: withCookie(cookie))
        XCTAssertEqual(out.status, 204)
        XCTAssertEqual(out.headers["Set-Cookie"], "att_refresh=; HttpOnly; SameSite=Strict; Path=/v1/auth; Max-Age=0; Secure")
        assertError(request("POST", "/v1/auth/refresh", headers: withCookie(cookie)), 401, "unauthorized")
        XCTAssertEqual(request("POST", "/v1/auth/logout").status, 204, "logging out without a session is harmless")
    }

    func testADisabledAccountCannotRefresh() {
        let id = freshId("t")
        addUser(id, role: .admin)
        let response = login(id)
        XCTAssertEqual(json(response)["user"]?["role"]?.string, "admin")
        let cookie = cookieValue(response)
        disable(id)
        assertError(request("POST", "/v1/auth/refresh", headers: withCookie(cookie)), 401, "unauthorized")
    }

    func testMineListsOwnClassesOpenFirstThenNewest() throws {
        let teacherId = freshId("t")
        let bearer = token(.teacher, teacherId)
        var ids: [String] = []
        for name in ["First", "Second", "Third"] {
            clock.offsetMs += 1000
            ids.append(try XCTUnwrap(createClass(#"{"name":"\#(name)"}"#, as: bearer)["class_id"]?.string))
        }
        createClass(#"{"name":"Someone else's"}"#)
        XCTAssertEqual(request("POST", "/v1/classes/\(ids[1])/close", token: bearer).status, 200)
        // An index entry whose class is gone (purged) is skipped.
        RedisServer.shared.cli("ZADD", Keys.mine(teacherId), "1", "c_gone")
        let response = request("GET", "/v1/classes?mine=1", token: bearer)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let classes = try XCTUnwrap(json(response)["classes"]?.array)
        XCTAssertEqual(classes.compactMap { $0["class_id"]?.string }, [ids[2], ids[0], ids[1]])
        XCTAssertEqual(classes.map { $0["state"]?.string }, ["open", "open", "closed"])
        XCTAssertNotNil(classes[0]["code"]?.string)
        XCTAssertEqual(classes[2]["code"], .null, "no code once closed")
        XCTAssertNotNil(classes[0]["counts"]?["total"])
        XCTAssertNotNil(classes[0]["closes_at_ms"])
        assertError(request("GET", "/v1/classes", token: bearer), 400, "bad_request")
        assertError(request("GET", "/v1/classes?mine=1"), 401, "unauthorized")
        XCTAssertEqual(json(request("GET", "/v1/classes?mine=1", token: token(.teacher, freshId("t"))))["classes"], .array([]))
    }

    /// The real `attendance user add`, password on stdin; the account then logs in.
    func testUserAddCommandStoresAnAccountThatLogsIn() throws {
        let id = freshId("cli")
        func run(_ arguments: [String], stdin: String) throws -> (status: Int32, stderr: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: AttendanceProcess.executable)
            process.arguments = arguments + ["--redis", RedisServer.shared.url]
            let input = Pipe(), err = Pipe()
            process.standardInput = input
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        let add = ["user", "add", "--id", id, "--role", "teacher", "--name", "Grace Hopper"]
        let short = try run(add, stdin: "short\n")
        XCTAssertNotEqual(short.status, 0)
        XCTAssertTrue(short.stderr.contains("at least") || short.stderr.contains("10 to"), short.stderr)
        XCTAssertNotEqual(try run(add, stdin: "\n").status, 0)
        XCTAssertEqual(RedisServer.shared.cli("EXISTS", Keys.user(id)), "0", "a refused password stores nothing")
        let ok = try run(add, stdin: "a long enough password\n")
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(RedisServer.shared.cli("HGET", Keys.user(id), "pw").hasPrefix("scrypt$15$8$1$"))
        XCTAssertNotEqual(try run(add, stdin: "a long enough password\n").status, 0, "an existing id is not overwritten")
        let response = login(id, "a long enough password")
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(json(response)["user"]?["name"]?.string, "Grace Hopper")
        XCTAssertEqual(try run(["user", "disable", id], stdin: "").status, 0)
        assertError(login(id, "a long enough password"), 401, "unauthorized")
        XCTAssertNotEqual(try run(["user", "disable", freshId("nobody")], stdin: "").status, 0)
    }
}
