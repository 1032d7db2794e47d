import Attendance
import HTTP
import JSON
import XCTest

final class ClassEndpointTests: APITestCase {
    func testCreateClassReturnsCodeLinkAndQR() {
        let response = request("POST", "/v1/classes", token: teacher,
                               json: #"{"name":"Algebra","roster":["s1","s2","s1"],"late_after_s":300,"duration_s":1800,"qr_period_s":20,"allow_code_checkin":true}"#)
        XCTAssertEqual(response.status, 201, response.bodyText)
        let body = json(response)
        let classId = try! XCTUnwrap(body["class_id"]?.string)
        XCTAssertEqual(response.headers["Location"], "/v1/classes/\(classId)")
        XCTAssertEqual(body["name"], "Algebra")
        XCTAssertTrue(JoinCode.isWellFormed(body["code"]?.string ?? ""))
        let link = try! XCTUnwrap(body["link"]?.string)
        XCTAssertTrue(link.hasPrefix(publicURL + "/j/"), link)
        XCTAssertEqual(link, publicURL + "/j/" + (body["link_token"]?.string ?? "?"))
        let qr = try! XCTUnwrap(body["qr"]?.string)
        XCTAssertEqual(QRToken.parse(qr)?.classId, classId)
        XCTAssertEqual(body["qr_url"]?.string, publicURL + "/checkin?qr=" + qr)
        XCTAssertEqual(body["qr_expires_ms"]?.int.map { $0 % 20_000 }, 0)
        XCTAssertEqual(body["late_after_s"], 300)
        XCTAssertEqual(body["duration_s"], 1800)
        XCTAssertEqual(body["qr_period_s"], 20)
        XCTAssertEqual(body["allow_code_checkin"], true)
        XCTAssertEqual(body["roster_size"], 2)
        let start = try! XCTUnwrap(body["start_ms"]?.int)
        XCTAssertEqual(body["closes_at_ms"]?.int, start + 1_800_000)
    }

    func testCreateClassDefaults() {
        let body = createClass()
        XCTAssertEqual(body["late_after_s"], 600)
        XCTAssertEqual(body["duration_s"], 3600)
        XCTAssertEqual(body["qr_period_s"], 15)
        XCTAssertEqual(body["allow_code_checkin"], false)
        XCTAssertEqual(body["roster_size"], 0)
    }

    func testAuthenticationFailuresAre401() {
        let body = #"{"name":"Algebra"}"#
        var response = request("POST", "/v1/classes", json: body)
        XCTAssertTrue(assertError(response, 401, "unauthorized").contains("Authorization"))
        XCTAssertEqual(response.headers["WWW-Authenticate"], #"Bearer realm="attendance""#)

        response = request("POST", "/v1/classes", json: body, headers: ["Authorization": "Basic dTpw"])
        XCTAssertTrue(assertError(response, 401, "unauthorized").contains("Bearer"))

        response = request("POST", "/v1/classes", token: "not.a.token", json: body)
        assertError(response, 401, "unauthorized")

        let forged = TokenSigner(secret: "someone-else").sign(AccessClaims(sub: "t1", role: .teacher, iat: 0, exp: clock.now() / 1000 + 60))
        assertError(request("POST", "/v1/classes", token: forged, json: body), 401, "unauthorized")

        let expired = token(.teacher, "t1", ttlS: -3600)
        XCTAssertTrue(assertError(request("POST", "/v1/classes", token: expired, json: body), 401, "unauthorized").contains("expired"))

        response = request("POST", "/v1/classes", json: body, headers: [("Authorization", "Bearer \(teacher)"), ("Authorization", "Bearer \(teacher)")])
        assertError(response, 401, "unauthorized")

        // The scheme is case-insensitive.
        response = request("POST", "/v1/classes", json: body, headers: ["Authorization": "bearer \(teacher)"])
        XCTAssertEqual(response.status, 201)
    }

    func testStudentsCannotCreateClasses() {
        let student = token(.student, "s1", classId: "c_x")
        assertError(request("POST", "/v1/classes", token: student, json: #"{"name":"Algebra"}"#), 403, "forbidden")
    }

    func testInvalidBodiesNameTheField() {
        func message(_ body: String) -> String {
            assertError(request("POST", "/v1/classes", token: teacher, json: body), 400, "bad_request")
        }
        XCTAssertTrue(message(#"{}"#).contains("name is required"))
        XCTAssertTrue(message(#"{"name":5}"#).contains("name must be a string"))
        XCTAssertTrue(message(#"{"name":""}"#).contains("name"))
        XCTAssertTrue(message(#"{"name":"A","late_after_s":"10"}"#).contains("late_after_s must be an integer"))
        XCTAssertTrue(message(#"{"name":"A","late_after_s":1.5}"#).contains("late_after_s must be an integer"))
        XCTAssertTrue(message(#"{"name":"A","duration_s":10}"#).contains("duration_s"))
        XCTAssertTrue(message(#"{"name":"A","qr_period_s":1}"#).contains("qr_period_s"))
        // QR periods are capped at a minute: a longer one lets a photo of the QR travel too far.
        XCTAssertTrue(message(#"{"name":"A","qr_period_s":61}"#).contains("qr_period_s must be within 5...60"))
        XCTAssertEqual(request("POST", "/v1/classes", token: teacher, json: #"{"name":"A","qr_period_s":60}"#).status, 201)
        XCTAssertTrue(message(#"{"name":"A","allow_code_checkin":"yes"}"#).contains("allow_code_checkin must be true or false"))
        XCTAssertTrue(message(#"{"name":"A","roster":"s1"}"#).contains("roster must be an array"))
        XCTAssertTrue(message(#"{"name":"A","roster":["s1",2]}"#).contains("roster[1] must be a string"))
        XCTAssertTrue(message(#"{"name":"A","roster":["s1","bad id"]}"#).contains("roster[1]"))
        XCTAssertTrue(message(#"{"name":"A","late_after":10}"#).contains("Unknown field 'late_after'"))
        XCTAssertTrue(message(#"[1,2]"#).contains("JSON object"))
        // Explicit nulls mean "use the default".
        XCTAssertEqual(request("POST", "/v1/classes", token: teacher, json: #"{"name":"A","roster":null,"late_after_s":null}"#).status, 201)
    }

    func testMalformedJSONIsInvalidJSON() {
        let message = assertError(request("POST", "/v1/classes", token: teacher, json: #"{"name":"A",}"#), 400, "invalid_json")
        XCTAssertTrue(message.contains("byte"), message)
        assertError(request("POST", "/v1/classes", token: teacher, json: ""), 400, "invalid_json")
        assertError(request("POST", "/v1/classes", token: teacher, body: [0x7B, 0xFF, 0x7D]), 400, "invalid_json")
        assertError(request("POST", "/v1/join", json: "{"), 400, "invalid_json")
    }

    func testBodyOverTheLimitIs413() throws {
        stopServer()
        try startServer { $0.maxBodyBytes = 1024 }
        let big = #"{"name":"\#(String(repeating: "x", count: 2000))"}"#
        assertError(request("POST", "/v1/classes", token: teacher, json: big), 413, "payload_too_large")
        // Just under the limit is read (and then refused for the long name, by field).
        let fits = #"{"name":"\#(String(repeating: "x", count: 300))"}"#
        XCTAssertTrue(assertError(request("POST", "/v1/classes", token: teacher, json: fits), 400, "bad_request").contains("name"))
    }

    func testDefaultBodyLimitIsOneMebibyte() {
        let big = [UInt8](repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
        assertError(request("POST", "/v1/classes", token: teacher, body: big), 413, "payload_too_large")
    }

    func testClassInfoForItsTeacherAndAdmins() {
        let created = createClass(#"{"name":"Biology","roster":["s1","s2"]}"#)
        let classId = created["class_id"]!.string!
        _ = studentToken(created, student: "s1")
        let response = request("GET", "/v1/classes/\(classId)", token: teacher)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let info = json(response)
        XCTAssertEqual(info["class_id"]?.string, classId)
        XCTAssertEqual(info["name"], "Biology")
        XCTAssertEqual(info["teacher_id"], "t1")
        XCTAssertEqual(info["state"], "open")
        XCTAssertEqual(info["code"], created["code"])
        XCTAssertTrue(info["link"]?.string?.hasPrefix(publicURL + "/j/") ?? false)
        XCTAssertEqual(info["closed_at_ms"], .null)
        XCTAssertEqual(info["roster_size"], 2)
        XCTAssertEqual(info["counts"]?["unmarked"], 2)
        XCTAssertEqual(info["counts"]?["total"], 2)
        XCTAssertNotEqual(info["offset"]?.string, "0-0")

        XCTAssertEqual(request("GET", "/v1/classes/\(classId)", token: token(.admin, "root")).status, 200)
        assertError(request("GET", "/v1/classes/\(classId)", token: token(.teacher, "t2")), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)", token: token(.student, "s1", classId: classId)), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)"), 401, "unauthorized")
        assertError(request("GET", "/v1/classes/c_doesnotexist", token: teacher), 404, "not_found")
        assertError(request("GET", "/v1/classes/bad%20id", token: teacher), 404, "not_found")
    }

    func testCurrentQRAsJSON() {
        let created = createClass(#"{"name":"Chemistry","qr_period_s":30}"#)
        let classId = created["class_id"]!.string!
        let response = request("GET", "/v1/classes/\(classId)/qr", token: teacher)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let body = json(response)
        let qr = try! XCTUnwrap(body["qr"]?.string)
        XCTAssertEqual(QRToken.verify(qr, classId: classId, periodS: 30, nowMs: clock.now(), key: qrKey), .ok)
        XCTAssertEqual(body["url"]?.string, "\(publicURL)/checkin?qr=\(qr)")
        let expires = try! XCTUnwrap(body["expires_ms"]?.int)
        XCTAssertEqual(expires % 30_000, 0)
        XCTAssertTrue(expires > clock.now() && expires <= clock.now() + 30_000)
        XCTAssertEqual(body["period_s"], 30)

        assertError(request("GET", "/v1/classes/\(classId)/qr", token: token(.teacher, "t2")), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)/qr", token: token(.student, "s1", classId: classId)), 403, "forbidden")
        assertError(request("GET", "/v1/classes/c_missing/qr", token: teacher), 404, "not_found")
        assertError(request("GET", "/v1/classes/\(classId)/qr?format=png", token: teacher), 400, "bad_request")
    }

    func testCurrentQRAsSVG() {
        let classId = createClass()["class_id"]!.string!
        let response = request("GET", "/v1/classes/\(classId)/qr?format=svg", token: teacher)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "image/svg+xml")
        XCTAssertEqual(response.headers["Cache-Control"], "no-store")
        let svg = response.bodyText
        XCTAssertTrue(svg.hasPrefix("<svg"), svg)
        XCTAssertTrue(svg.hasSuffix("</svg>"))
        XCTAssertTrue(svg.contains(#"viewBox="0 0 "#))
        XCTAssertTrue(svg.contains("<path"))
        let expires = Int64(response.headers["X-QR-Expires-Ms"] ?? "")
        XCTAssertNotNil(expires)
        // Every tag opened is closed: <svg>…</svg>, and the self-closing <rect/> and <path/>.
        XCTAssertEqual(svg.components(separatedBy: "<").count - 1, 4)
        XCTAssertEqual(svg.components(separatedBy: "/>").count - 1, 2)
        assertError(request("GET", "/v1/classes/\(classId)/qr?format=svg", token: token(.teacher, "t2")), 403, "forbidden")
    }
}
