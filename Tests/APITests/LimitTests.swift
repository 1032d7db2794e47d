@testable import API
import Attendance
import HTTP
import JSON
import TestSupport
import XCTest

/// The limits of issue "stop guessing but let a whole class in": failures are counted per address,
/// successes are not; classes without a roster have a size cap; teachers a creation rate.
final class LimitTests: APITestCase {
    private let failureKey = Keys.failures(address: "127.0.0.1")

    /// Starts the server with the default limits of `attendance api` and a clean failure count for
    /// 127.0.0.1 (cleaned again afterwards: other tests fail from the same address).
    private func startWithDefaultLimits(_ configure: (inout APIConfiguration) -> Void = { _ in }) throws {
        stopServer()
        RedisServer.shared.cli("DEL", failureKey)
        addTeardownBlock { RedisServer.shared.cli("DEL", Keys.failures(address: "127.0.0.1")) }
        try startServer {
            $0.limits = StoreLimits()
            configure(&$0)
        }
    }

    private func wrongCode(_ created: JSONValue) -> String {
        created["code"]?.string == "000000" ? "000001" : "000000"
    }

    func testFiveHundredJoinsOfOneClassFromOneAddressAllSucceed() throws {
        try startWithDefaultLimits()
        let created = createClass()
        let code = try XCTUnwrap(created["code"]?.string)
        var refused: [String] = []
        for n in 0..<500 {
            let response = join(#""code":"\#(code)""#, student: "s\(n)")
            if response.status != 200 { refused.append("s\(n): \(response.status) \(response.bodyText)") }
        }
        XCTAssertEqual(refused, [], "\(refused.count) of 500 joins refused")
        let info = json(request("GET", "/v1/classes/\(created["class_id"]!.string!)", token: teacher))
        XCTAssertEqual(info["counts"]?["unmarked"], 500)
    }

    func testEleventhWrongCodeFromAnAddressGets429WithRetryAfter() throws {
        try startWithDefaultLimits()
        let created = createClass()
        let code = try XCTUnwrap(created["code"]?.string)
        for _ in 0..<5 { assertError(join(#""code":"\#(wrongCode(created))""#, student: "mallory"), 422, "code_invalid") }
        // A success in between does not reset the count.
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "s1").status, 200)
        for _ in 0..<5 { assertError(join(#""code":"\#(wrongCode(created))""#, student: "mallory"), 422, "code_invalid") }
        let limited = join(#""code":"\#(wrongCode(created))""#, student: "mallory")
        assertError(limited, 429, "rate_limited")
        let retry = try XCTUnwrap(Int(limited.headers["Retry-After"] ?? ""), "Retry-After")
        XCTAssertTrue((1...60).contains(retry), "\(retry)")
        // Over the limit even a right code is refused, and nothing is written.
        assertError(join(#""code":"\#(code)""#, student: "s2"), 429, "rate_limited")
        XCTAssertNil(attendanceRow(created["class_id"]!.string!, "s2"))
        XCTAssertTrue(request("GET", "/metrics").bodyText.contains("attendance_api_rate_limited_total 2"))
    }

    /// Bad links, bad and expired QRs, unknown students and wrong check-in codes all count; bad
    /// input and closed classes do not.
    func testEveryKindOfFailureCounts() throws {
        try startWithDefaultLimits()
        let open = createClass(#"{"name":"A","allow_code_checkin":true}"#)
        let openId = try XCTUnwrap(open["class_id"]?.string)
        let roster = createClass(#"{"name":"R","roster":["s1"]}"#)
        let student = studentToken(open, student: "s1")
        let expiredQR = qr(classId: openId, window: currentWindow() - 5)

        assertError(join(#""code":"12345""#, student: "m"), 422, "code_invalid")
        assertError(join(#""link_token":"Zm9v.YmFy""#, student: "m"), 400, "bad_request")
        assertError(join(#""qr":"garbage""#, student: "m"), 422, "qr_invalid")
        assertError(join(#""qr":"\#(expiredQR)""#, student: "m"), 422, "qr_expired")
        assertError(join(#""code":"\#(roster["code"]!.string!)""#, student: "stranger"), 422, "code_invalid")
        assertError(request("POST", "/v1/classes/\(openId)/checkins", token: student, json: #"{"qr":"\#(expiredQR)"}"#), 422, "qr_expired")
        assertError(request("POST", "/v1/classes/\(openId)/checkins", token: student,
                            json: #"{"code":"\#(wrongCode(open))"}"#), 422, "code_invalid")
        let sig = TestDeviceKey().deviceSig(classId: openId, studentId: "s1", proof: open["qr"]!.string!, clientTimeMs: 1)
        assertError(request("POST", "/v1/classes/\(openId)/checkins", token: student,
                            json: #"{"qr":"\#(open["qr"]!.string!)","device_sig":"\#(sig)","client_time_ms":1}"#),
                    422, "device_invalid")
        // Not guesses: a malformed student_id, a missing field.
        assertError(join(#""code":"\#(open["code"]!.string!)""#, student: "bad id"), 400, "bad_request")
        assertError(request("POST", "/v1/join", json: #"{"student_id":"x"}"#), 400, "bad_request")
        XCTAssertEqual(RedisServer.shared.cli("GET", failureKey), "8")

        // An expired join link counts too (its class has ended).
        clock.offsetMs = 3_700_000
        assertError(join(#""link_token":"\#(open["link_token"]!.string!)""#, student: "m"), 409, "class_closed")
        clock.offsetMs = 0
        XCTAssertEqual(RedisServer.shared.cli("GET", failureKey), "9")
        for _ in 0..<1 { assertError(join(#""code":"\#(wrongCode(open))""#, student: "m"), 422, "code_invalid") }
        let limited = request("POST", "/v1/classes/\(openId)/checkins", token: student, json: #"{"qr":"\#(open["qr"]!.string!)"}"#)
        assertError(limited, 429, "rate_limited")
        XCTAssertNotNil(limited.headers["Retry-After"])
    }

    func testClassWithoutRosterHasASizeCap() throws {
        try startWithDefaultLimits { $0.limits.classSizeLimit = 3 }
        let created = createClass()
        let code = try XCTUnwrap(created["code"]?.string)
        for student in ["a", "b", "c"] { XCTAssertEqual(join(#""code":"\#(code)""#, student: student).status, 200) }
        let message = assertError(join(#""code":"\#(code)""#, student: "d"), 409, "conflict")
        XCTAssertTrue(message.contains("full") && message.contains("3"), message)
        // Those inside may re-join; a full class is no guess.
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "a").status, 200)
        XCTAssertEqual(RedisServer.shared.cli("GET", failureKey), "")
        // A roster decides by itself.
        let roster = createClass(#"{"name":"R","roster":["a","b","c","d"]}"#)
        for student in ["a", "b", "c", "d"] {
            XCTAssertEqual(join(#""code":"\#(roster["code"]!.string!)""#, student: student).status, 200)
        }
    }

    func testTeacherClassCreationRate() throws {
        stopServer()
        try startServer { $0.classCreationsPerTeacher = 2 }
        let teacherId = "rate-\(UInt32.random(in: 0...UInt32.max))"
        let bearer = token(.teacher, teacherId)
        for _ in 0..<2 { createClass(as: bearer) }
        let limited = request("POST", "/v1/classes", token: bearer, json: #"{"name":"Too many"}"#)
        assertError(limited, 429, "rate_limited")
        XCTAssertNotNil(limited.headers["Retry-After"])
        createClass(as: token(.teacher, teacherId + "-other"))
    }

    func testRejoinKeepsTheNameAndIsCounted() throws {
        let created = createClass()
        let classId = try XCTUnwrap(created["class_id"]?.string)
        let code = try XCTUnwrap(created["code"]?.string)
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "s1", name: "Ann").status, 200)
        let again = join(#""code":"\#(code)""#, student: "s1", name: "Mallory")
        XCTAssertEqual(again.status, 200, again.bodyText)
        let claims = try signer.verify(json(again)["access_token"]?.string ?? "", nowS: clock.now() / 1000).get()
        XCTAssertEqual(claims.sub, "s1")
        let row = try XCTUnwrap(attendanceRow(classId, "s1"))
        XCTAssertEqual(row["name"], "Ann")
        XCTAssertEqual(row["rejoins"], 1)
        XCTAssertEqual(attendanceRow(classId, "s1")?["rejoins"], 1)
        let events = json(request("GET", "/v1/classes/\(classId)/events", token: teacher))["events"]?.array ?? []
        XCTAssertEqual(events.filter { $0["event"] == "joined" }.count, 1)
        XCTAssertTrue(events.allSatisfy { $0["name"]?.string != "Mallory" })
    }

    func testNamesRefuseBidiOverridesAndZeroWidthCharacters() {
        let created = createClass()
        let code = created["code"]!.string!
        for bad in [#"evil\u202Etxt"#, #"A\u200Bnn"#, #"\u2066x"#, #"\ufeffAnn"#, #"a\u200Fb"#, #"a\u0007b"#] {
            let response = request("POST", "/v1/join", json: #"{"code":"\#(code)","student_id":"s1","name":"\#(bad)"}"#)
            XCTAssertTrue(assertError(response, 400, "bad_request").contains("bidi"), bad)
        }
        assertError(request("POST", "/v1/classes", token: teacher, json: #"{"name":"Math\u202E"}"#), 400, "bad_request")
        XCTAssertEqual(request("POST", "/v1/join", json: #"{"code":"\#(code)","student_id":"s1","name":"Zoë Ağaoğlu 李"}"#).status, 200)
        let classId = created["class_id"]!.string!
        assertError(request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: teacher,
                            json: #"{"status":"excused","note":"ok\u2069"}"#), 400, "bad_request")
        let long = String(repeating: "a", count: ClassStore.maxNameCharacters + 1)
        assertError(request("POST", "/v1/join", json: #"{"code":"\#(code)","student_id":"s2","name":"\#(long)"}"#), 400, "bad_request")
    }

    func testTokensFromTheFutureOrTooLongLivedAreRefused() {
        let now = clock.now() / 1000
        let future = signer.sign(AccessClaims(sub: "t1", role: .teacher, iat: now + 120, exp: now + 3600))
        XCTAssertTrue(assertError(request("GET", "/v1/classes/c_none", token: future), 401, "unauthorized").contains("not valid yet"))
        let long = signer.sign(AccessClaims(sub: "t1", role: .teacher, iat: now, exp: now + TokenSigner.defaultMaxLifetimeS + 1))
        XCTAssertTrue(assertError(request("GET", "/v1/classes/c_none", token: long), 401, "unauthorized").contains("lifetime"))
        let skewed = signer.sign(AccessClaims(sub: "t1", role: .teacher, iat: now + 30, exp: now + 3600))
        assertError(request("GET", "/v1/classes/c_none", token: skewed), 404, "not_found")
    }
}
