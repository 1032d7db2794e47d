@testable import API
import Attendance
import HTTP
import JSON
import TestSupport
import XCTest

/// Trusted proxies, network rules and the absence of a roster oracle (PROTOCOL.md "Network rules").
final class NetworkRuleTests: APITestCase {
    private func forwarded(_ address: String) -> HTTPHeaders { ["X-Forwarded-For": address] }

    /// Failure counting on, a clean count for each address the test uses (also afterwards: other
    /// tests fail from 127.0.0.1).
    private func startCounting(_ addresses: [String], _ configure: (inout APIConfiguration) -> Void = { _ in }) throws {
        stopServer()
        let keys = (addresses + ["127.0.0.1"]).map { Keys.failures(address: $0) }
        for key in keys { RedisServer.shared.cli("DEL", key) }
        addTeardownBlock { for key in keys { RedisServer.shared.cli("DEL", key) } }
        try startServer {
            $0.limits = StoreLimits()
            configure(&$0)
        }
    }

    private func joinFrom(_ address: String, _ credential: String, student: String) -> HTTPClientResponse {
        request("POST", "/v1/join", json: #"{\#(credential),"student_id":"\#(student)"}"#, headers: forwarded(address))
    }

    private func wrongCode(_ created: JSONValue) -> String { created["code"]?.string == "000000" ? "000001" : "000000" }

    func testTheFailureLimitKeysByTheAddressATrustedProxyForwarded() throws {
        try startCounting(["203.0.113.77", "203.0.113.78"]) { $0.trustedProxies = [CIDR("127.0.0.1/32")!] }
        let created = createClass()
        // The client's own claim (left) is not believed; the proxy's (right-most) is.
        for _ in 0..<10 {
            assertError(joinFrom("6.6.6.6, 203.0.113.77", #""code":"\#(wrongCode(created))""#, student: "m"), 422, "code_invalid")
        }
        XCTAssertEqual(RedisServer.shared.cli("GET", Keys.failures(address: "203.0.113.77")), "10")
        XCTAssertEqual(RedisServer.shared.cli("GET", Keys.failures(address: "127.0.0.1")), "")
        assertError(joinFrom("203.0.113.77", #""code":"\#(created["code"]!.string!)""#, student: "s1"), 429, "rate_limited")
        // Another client behind the same proxy is not locked out.
        XCTAssertEqual(joinFrom("203.0.113.78", #""code":"\#(created["code"]!.string!)""#, student: "s2").status, 200)
    }

    func testTheHeaderIsIgnoredWithoutTrustedProxies() throws {
        try startCounting(["203.0.113.77"])
        let created = createClass()
        assertError(joinFrom("203.0.113.77", #""code":"\#(wrongCode(created))""#, student: "m"), 422, "code_invalid")
        XCTAssertEqual(RedisServer.shared.cli("GET", Keys.failures(address: "127.0.0.1")), "1")
        XCTAssertEqual(RedisServer.shared.cli("GET", Keys.failures(address: "203.0.113.77")), "")
    }

    func testCheckinsFromOutsideTheClassNetworksAreRefusedAndChangeNothing() throws {
        try startCounting(["10.1.2.3"]) { $0.trustedProxies = [CIDR("127.0.0.1/32")!] }
        let created = createClass(#"{"name":"Lab","allow_code_checkin":true,"allowed_networks":["10.1.0.0/16","2001:db8::/48"]}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)
        let qr = try XCTUnwrap(created["qr"]?.string)
        // Joining by code is not a check-in: allowed from anywhere.
        let student = studentToken(created, student: "s1")
        let message = assertError(request("POST", "/v1/classes/\(classId)/checkins", token: student, json: #"{"qr":"\#(qr)"}"#),
                                  403, "network_not_allowed")
        XCTAssertFalse(message.isEmpty)
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: student, json: #"{"code":"\#(created["code"]!.string!)"}"#),
                    403, "network_not_allowed")
        // A join with the QR checks in, so it is refused too, and writes nothing.
        assertError(join(#""qr":"\#(qr)""#, student: "s2"), 403, "network_not_allowed")
        XCTAssertEqual(attendanceRow(classId, "s1")?["status"]?.string, "unmarked")
        XCTAssertNil(attendanceRow(classId, "s2"))
        // Not a guess: nothing counted.
        XCTAssertEqual(RedisServer.shared.cli("GET", Keys.failures(address: "127.0.0.1")), "")
        // From the school's network (through the trusted proxy) it works.
        let inside = request("POST", "/v1/classes/\(classId)/checkins", token: student, json: #"{"qr":"\#(qr)"}"#,
                             headers: forwarded("10.1.2.3"))
        XCTAssertEqual(inside.status, 200, inside.bodyText)
        XCTAssertEqual(joinFrom("2001:db8:0:1::5", #""qr":"\#(qr)""#, student: "s2").status, 200)
        XCTAssertEqual(attendanceRow(classId, "s2")?["status"]?.string, "present")
    }

    func testTheSiteDefaultAppliesToClassesWithoutTheirOwnNetworks() throws {
        stopServer()
        try startServer { $0.limits.allowedNetworks = [CIDR("10.0.0.0/8")!] }
        let plain = createClass()
        XCTAssertEqual(json(request("GET", "/v1/classes/\(plain["class_id"]!.string!)", token: teacher))["allowed_networks"], [])
        assertError(join(#""qr":"\#(plain["qr"]!.string!)""#, student: "s1"), 403, "network_not_allowed")
        let own = createClass(#"{"name":"Loopback","allowed_networks":["127.0.0.0/8"]}"#)
        XCTAssertEqual(join(#""qr":"\#(own["qr"]!.string!)""#, student: "s1").status, 200)
    }

    func testAllowedNetworksAreValidatedAndNormalised() throws {
        let created = createClass(#"{"name":"Lab","allowed_networks":["10.1.2.3/16","2001:DB8::/48"]}"#)
        XCTAssertEqual(created["allowed_networks"], ["10.1.0.0/16", "2001:db8::/48"])
        let info = json(request("GET", "/v1/classes/\(created["class_id"]!.string!)", token: teacher))
        XCTAssertEqual(info["allowed_networks"], ["10.1.0.0/16", "2001:db8::/48"])
        XCTAssertEqual(createClass()["allowed_networks"], [])
        for body in [#""allowed_networks":"10.0.0.0/8""#, #""allowed_networks":["10.0.0.0/33"]"#,
                     #""allowed_networks":["school"]"#, #""allowed_networks":[10]"#,
                     #""allowed_networks":[\#((0..<33).map { "\"10.\($0).0.0/16\"" }.joined(separator: ","))]"#] {
            let message = assertError(request("POST", "/v1/classes", token: teacher, json: #"{"name":"X",\#(body)}"#), 400, "bad_request")
            XCTAssertTrue(message.contains("allowed_networks"), message)
        }
    }

    /// A guesser holding a valid code, link or QR learns nothing about which ids are on the roster.
    func testAnIdNotOnTheRosterAnswersExactlyLikeAWrongCode() throws {
        try startCounting([])
        let created = createClass(#"{"name":"R","roster":["s1"]}"#)
        let wrong = join(#""code":"\#(wrongCode(created))""#, student: "s1")
        assertError(wrong, 422, "code_invalid")
        for credential in [#""code":"\#(created["code"]!.string!)""#, #""link_token":"\#(created["link_token"]!.string!)""#,
                           #""qr":"\#(created["qr"]!.string!)""#] {
            let unknown = join(credential, student: "stranger")
            XCTAssertEqual(unknown.status, wrong.status, credential)
            XCTAssertEqual(unknown.body, wrong.body, credential)
        }
        XCTAssertNil(attendanceRow(created["class_id"]!.string!, "stranger"))
        XCTAssertEqual(RedisServer.shared.cli("GET", Keys.failures(address: "127.0.0.1")), "4")
    }
}
