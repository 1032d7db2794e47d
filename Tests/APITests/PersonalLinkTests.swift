@testable import API
import Attendance
import HTTP
import JSON
import TestSupport
import XCTest

/// Personal join links: one signed link per roster student, joining as that student, and classes
/// that admit new students only by personal link (`join_requires: link`).
final class PersonalLinkTests: APITestCase {
    private let failureKey = Keys.failures(address: "127.0.0.1")

    /// Failure counting on (the default limits), with a clean count for 127.0.0.1.
    private func startCountingFailures() throws {
        stopServer()
        RedisServer.shared.cli("DEL", failureKey)
        addTeardownBlock { RedisServer.shared.cli("DEL", Keys.failures(address: "127.0.0.1")) }
        try startServer { $0.limits = StoreLimits() }
    }

    /// The personal link tokens of a class by student id.
    private func links(_ classId: String) -> [String: String] {
        let list = json(request("GET", "/v1/classes/\(classId)/links", token: teacher))
        var tokens: [String: String] = [:]
        for entry in list["links"]?.array ?? [] {
            if let id = entry["student_id"]?.string, let token = entry["link_token"]?.string { tokens[id] = token }
        }
        return tokens
    }

    private func joinWithLink(_ token: String, student: String? = nil) -> HTTPClientResponse {
        let id = student.map { #","student_id":"\#($0)""# } ?? ""
        return request("POST", "/v1/join", json: #"{"link_token":"\#(token)"\#(id)}"#)
    }

    func testLinksListAndCSVForARoster() throws {
        let created = createClass(#"{"name":"R","roster":["s1","s2","-1"]}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)
        XCTAssertEqual(join(#""code":"\#(created["code"]!.string!)""#, student: "s1", name: "=SUM(A1)").status, 200)
        let list = json(request("GET", "/v1/classes/\(classId)/links", token: teacher))
        let entries = try XCTUnwrap(list["links"]?.array)
        XCTAssertEqual(Set(entries.compactMap { $0["student_id"]?.string }), ["s1", "s2", "-1"])
        for entry in entries {
            let token = try XCTUnwrap(entry["link_token"]?.string)
            XCTAssertEqual(entry["link"]?.string, publicURL + "/j/" + token)
            XCTAssertNotEqual(token, created["link_token"]?.string)
        }
        let csv = request("GET", "/v1/classes/\(classId)/links?format=csv", token: teacher)
        XCTAssertEqual(csv.status, 200, csv.bodyText)
        XCTAssertEqual(csv.headers["Content-Type"], "text/csv; charset=utf-8; header=present")
        let lines = csv.bodyText.components(separatedBy: "\r\n")
        XCTAssertEqual(lines.first, "student_id,name,link")
        XCTAssertEqual(lines.count, 5, csv.bodyText)  // header, three rows, the final CRLF
        // The formula guard of the attendance CSV, on ids and on names students typed.
        XCTAssertTrue(lines.contains { $0.hasPrefix("'-1,,\(publicURL)/j/") }, csv.bodyText)
        XCTAssertTrue(lines.contains { $0.hasPrefix("s1,'=SUM(A1),\(publicURL)/j/") }, csv.bodyText)
        // Only the class's teacher or an admin.
        assertError(request("GET", "/v1/classes/\(classId)/links", token: token(.teacher, "t2")), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)/links", token: studentToken(created, student: "s1")),
                    403, "forbidden")
        XCTAssertEqual(request("GET", "/v1/classes/\(classId)/links", token: token(.admin, "a")).status, 200)
    }

    func testJoiningWithAPersonalLinkBindsThatStudent() throws {
        let created = createClass(#"{"name":"R","roster":["s1","s2"]}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)
        let tokens = links(classId)
        let joined = joinWithLink(try XCTUnwrap(tokens["s2"]))
        XCTAssertEqual(joined.status, 200, joined.bodyText)
        XCTAssertEqual(json(joined)["student_id"]?.string, "s2")
        XCTAssertEqual(RedisServer.shared.cli("HEXISTS", Keys.students(classId), "s2"), "1")
        // The same id in the body is fine; another id is refused and writes nothing.
        XCTAssertEqual(joinWithLink(tokens["s2"]!, student: "s2").status, 200)
        let message = assertError(joinWithLink(tokens["s2"]!, student: "s1"), 400, "bad_request")
        XCTAssertTrue(message.contains("personal join link"), message)
        XCTAssertEqual(RedisServer.shared.cli("HEXISTS", Keys.students(classId), "s1"), "0")
    }

    func testTamperedExpiredAndForgedPersonalLinksAreRefusedAndCounted() throws {
        try startCountingFailures()
        let created = createClass(#"{"name":"R","roster":["s1","s2"]}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)
        let other = createClass(#"{"name":"O","roster":["s1"]}"#)
        let good = try XCTUnwrap(links(classId)["s1"])
        let parts = good.split(separator: ".").map(String.init)
        // The payload rewritten to name another student, and to name another class.
        let otherStudent = Base64URL.encode(Array("\(classId)|s2.9999999999".utf8)) + "." + parts[1]
        let otherClass = Base64URL.encode(Array("\(other["class_id"]!.string!)|s1.9999999999".utf8)) + "." + parts[1]
        for token in [otherStudent, otherClass, parts[0] + ".AAAAAAAAAAAAAAAAAAAAAA"] {
            assertError(joinWithLink(token), 400, "bad_request")
        }
        XCTAssertEqual(RedisServer.shared.cli("GET", failureKey), "3")
        clock.offsetMs = 3_700_000
        assertError(joinWithLink(good), 409, "class_closed")
        clock.offsetMs = 0
        XCTAssertEqual(RedisServer.shared.cli("GET", failureKey), "4")
        XCTAssertEqual(RedisServer.shared.cli("HLEN", Keys.students(classId)), "0")
    }

    func testClassAndPersonalLinksCannotStandInForEachOther() throws {
        let created = createClass(#"{"name":"R","roster":["s1"]}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)
        // A class link MAC'd as if it were a personal payload, and a personal link MAC'd as a class one.
        let personal = JoinLink.makePersonalToken(classId: classId, studentId: "s1", expiresS: 9_999_999_999, key: qrKey)
        let classLink = JoinLink.makeToken(classId: classId, expiresS: 9_999_999_999, key: qrKey)
        let personalPayload = personal.split(separator: ".")[0], classMac = classLink.split(separator: ".")[1]
        let classPayload = classLink.split(separator: ".")[0], personalMac = personal.split(separator: ".")[1]
        assertError(joinWithLink("\(personalPayload).\(classMac)"), 400, "bad_request")
        assertError(joinWithLink("\(classPayload).\(personalMac)", student: "s1"), 400, "bad_request")
        if case .success = JoinLink.verifyPersonal(classLink, key: qrKey, nowS: 0) { XCTFail("class link read as personal") }
        if case .success = JoinLink.verify(personal, key: qrKey, nowS: 0) { XCTFail("personal link read as class link") }
        // A class link still needs a student_id; the personal one names it.
        assertError(joinWithLink(classLink), 400, "bad_request")
        XCTAssertEqual(json(joinWithLink(personal))["student_id"]?.string, "s1")
    }

    func testJoinRequiresLinkRefusesCodeAndClassLinkButAcceptsPersonalLinks() throws {
        assertError(request("POST", "/v1/classes", token: teacher, json: #"{"name":"X","join_requires":"qr"}"#),
                    400, "bad_request")
        let created = createClass(#"{"name":"R","roster":["s1","s2"],"join_requires":"link"}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)
        let code = try XCTUnwrap(created["code"]?.string), classLink = try XCTUnwrap(created["link_token"]?.string)
        for credential in [#""code":"\#(code)""#, #""link_token":"\#(classLink)""#] {
            let message = assertError(join(credential, student: "s1"), 403, "forbidden")
            XCTAssertEqual(message, "This class requires your personal join link")
        }
        // A QR join only for a student who joined before (by personal link).
        let currentQR = qr(classId: classId, window: currentWindow())
        assertError(join(#""qr":"\#(currentQR)""#, student: "s1"), 403, "forbidden")
        XCTAssertEqual(RedisServer.shared.cli("HEXISTS", Keys.students(classId), "s1"), "0")
        XCTAssertEqual(joinWithLink(try XCTUnwrap(links(classId)["s1"])).status, 200)
        let scanned = join(#""qr":"\#(currentQR)""#, student: "s1")
        XCTAssertEqual(scanned.status, 200, scanned.bodyText)
        XCTAssertEqual(json(scanned)["status"]?.string, "present")
        // Under the default, code and class link still work.
        let open = createClass(#"{"name":"D","roster":["s1"]}"#)
        XCTAssertEqual(join(#""code":"\#(open["code"]!.string!)""#, student: "s1").status, 200)
    }

    /// The printable sheet: one card with a QR code per student, escaped names, no scripts.
    func testPrintableLinkSheet() throws {
        let created = createClass(#"{"name":"Art & <Design>","roster":["s1","s2"]}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)
        XCTAssertEqual(join(#""code":"\#(created["code"]!.string!)""#, student: "s1", name: "<script>alert(1)</script> O'Neil").status, 200)
        let response = request("GET", "/v1/classes/\(classId)/links?format=html", token: teacher)
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(response.headers["Content-Type"], "text/html; charset=utf-8")
        XCTAssertEqual(response.headers["Cache-Control"], "no-store")
        XCTAssertTrue(response.headers["Content-Security-Policy"]?.contains("default-src 'none'") ?? false)
        let page = response.bodyText
        XCTAssertFalse(page.lowercased().contains("<script"), "no scripts, and names are escaped")
        XCTAssertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Neil"), page)
        XCTAssertTrue(page.contains("Join links: Art &amp; &lt;Design&gt;"))
        XCTAssertTrue(page.contains("@page { size: A4"))
        XCTAssertEqual(page.components(separatedBy: "<svg ").count - 1, 2, "one QR code per student")
        let links = json(request("GET", "/v1/classes/\(classId)/links", token: teacher))["links"]?.array ?? []
        XCTAssertEqual(links.count, 2)
        for link in links { XCTAssertTrue(page.contains(try XCTUnwrap(link["link"]?.string)), "the link is printed") }
        XCTAssertTrue(page.contains(#"<div class="id">s2</div>"#))
        assertError(request("GET", "/v1/classes/\(classId)/links?format=pdf", token: teacher), 400, "bad_request")
        assertError(request("GET", "/v1/classes/\(classId)/links?format=html", token: token(.teacher, "t2")), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)/links?format=html"), 401, "unauthorized")
    }
}
