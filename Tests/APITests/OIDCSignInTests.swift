@testable import API
import Attendance
import EventLoop
import HTTP
import JSON
import TestSupport
import XCTest

/// Sign-in with a school account against `TestOIDCProvider` on a real loopback socket: the whole
/// code flow (start → provider → callback → refresh) plays what a browser does, cookie by cookie,
/// and the provider injects the faults a real one does not produce.
final class OIDCSignInTests: APITestCase {
    static let rsa = TestSigningKey(rsaBits: 2048, kid: "r1")
    static let ec = TestSigningKey(p256Kid: "e1")
    var provider: TestOIDCProvider!
    let ada = "ada@school.example"

    override func setUpWithError() throws {
        loop = try EventLoop()
        provider = try TestOIDCProvider(loop: loop, keys: [Self.rsa])
        provider.userClaims = #""sub":"u-ada","email":"\#(ada)","name":"Ada Lovelace","groups":["staff"]"#
        try startServer { $0.oidc = self.settings() }
    }

    override func tearDown() {
        stopServer()
        provider?.close()
        provider = nil
        runLoop(loop, timeoutMs: 50) { false }
        loop = nil
    }

    func settings(issuer: String? = nil) -> OIDCSettings {
        var settings = OIDCSettings(issuer: issuer ?? provider.issuer, clientId: provider.clientId,
                                    redirectURL: publicURL + "/v1/auth/oidc/callback")
        settings.roleClaim = "groups"
        settings.teacherValues = ["staff"]
        settings.adminValues = ["it"]
        return settings
    }

    // MARK: - The browser's part

    /// One GET to `address` (the provider), as a browser following a redirect.
    func get(_ address: SocketAddress, _ target: String) -> HTTPClientResponse {
        var result: Result<HTTPClientResponse, HTTPClientError>?
        var client: HTTPClient?
        HTTPClient.connect(loop: loop, address: address) { connected in
            switch connected {
            case .success(let c):
                client = c
                c.send(method: "GET", path: target) { result = $0 }
            case .failure(let error): result = .failure(error)
            }
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { result != nil })
        client?.close()
        return (try? result?.get()) ?? HTTPClientResponse(status: 0)
    }

    /// The value of cookie `name` among the response's Set-Cookie headers.
    func setCookie(_ name: String, in response: HTTPClientResponse) -> String? {
        for header in response.headers.values(for: "Set-Cookie") where header.hasPrefix(name + "=") {
            return String(header.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }

    /// Path and query of an absolute URL.
    func target(of url: String) -> String {
        let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? Substring(url)
        return String(afterScheme[(afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex)...])
    }

    struct Started {
        let stateCookie: String
        let authorizeTarget: String
    }

    func start(as role: String = "teacher", next: String = "/dashboard", file: StaticString = #filePath, line: UInt = #line) -> Started? {
        let response = request("GET", "/v1/auth/oidc/start?as=\(role)&next=\(FormEncoding.escape(next))")
        XCTAssertEqual(response.status, 302, response.bodyText, file: file, line: line)
        guard let location = response.headers["Location"], let cookie = setCookie("att_oidc_state", in: response) else {
            XCTFail("no redirect or state cookie", file: file, line: line)
            return nil
        }
        XCTAssertTrue(location.hasPrefix(provider.issuer + "/authorize?"), location, file: file, line: line)
        return Started(stateCookie: cookie, authorizeTarget: target(of: location))
    }

    /// The provider's answer to the authorization request: the callback target on this server.
    func authorize(_ started: Started) -> String {
        let response = get(try! SocketAddress(parsing: String(provider.issuer.dropFirst("http://".count))), started.authorizeTarget)
        XCTAssertEqual(response.status, 302, response.bodyText)
        let location = response.headers["Location"] ?? ""
        XCTAssertTrue(location.hasPrefix(publicURL + "/v1/auth/oidc/callback?"), location)
        return target(of: location)
    }

    func callback(_ target: String, stateCookie: String?) -> HTTPClientResponse {
        var headers: HTTPHeaders = []
        if let stateCookie { headers.add("Cookie", "att_oidc_state=\(stateCookie)") }
        return request("GET", target, headers: headers)
    }

    /// The whole flow; the callback's response.
    func signIn(as role: String = "teacher", next: String = "/dashboard") -> HTTPClientResponse {
        guard let started = start(as: role, next: next) else { return HTTPClientResponse(status: 0) }
        return callback(authorize(started), stateCookie: started.stateCookie)
    }

    /// `POST /v1/auth/refresh` with the refresh cookie the callback set; its JSON.
    func session(from callback: HTTPClientResponse, file: StaticString = #filePath, line: UInt = #line) -> JSONValue {
        guard let cookie = setCookie("att_refresh", in: callback), !cookie.isEmpty else {
            XCTFail("no session cookie: \(callback.headers["Location"] ?? "-")", file: file, line: line)
            return .null
        }
        let response = request("POST", "/v1/auth/refresh", headers: ["Cookie": "att_refresh=\(cookie)"])
        XCTAssertEqual(response.status, 200, response.bodyText, file: file, line: line)
        return json(response)
    }

    func assertSignInError(_ response: HTTPClientResponse, _ location: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(response.status, 302, response.bodyText, file: file, line: line)
        XCTAssertEqual(response.headers["Location"], location, file: file, line: line)
        XCTAssertNil(setCookie("att_refresh", in: response), "no session on a failed sign-in", file: file, line: line)
    }

    // MARK: - Tests

    func testMethodsSayWhatTheServerOffers() {
        XCTAssertEqual(json(request("GET", "/v1/auth/methods")), ["local": true, "oidc": ["teacher": true, "student": true]])
    }

    func testTeacherSignsInWithTheRoleClaimAndGetsASession() throws {
        let started = try XCTUnwrap(start())
        let query = started.authorizeTarget
        for item in ["response_type=code", "client_id=attendance", "scope=openid%20email%20profile", "code_challenge_method=S256",
                     "redirect_uri=" + FormEncoding.escape(publicURL + "/v1/auth/oidc/callback")] {
            XCTAssertTrue(query.contains(item), "\(item) in \(query)")
        }
        let response = callback(authorize(started), stateCookie: started.stateCookie)
        XCTAssertEqual(response.status, 302)
        XCTAssertEqual(response.headers["Location"], "/dashboard")
        let cookie = response.headers.values(for: "Set-Cookie").first { $0.hasPrefix("att_refresh=") } ?? ""
        XCTAssertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/v1/auth"), cookie)
        let signedIn = session(from: response)
        XCTAssertEqual(signedIn["user"], ["id": .string(ada), "role": "teacher", "name": "Ada Lovelace"])
        // The access token works as a teacher's.
        let created = request("POST", "/v1/classes", token: signedIn["access_token"]?.string, json: #"{"name":"SSO class"}"#)
        XCTAssertEqual(created.status, 201, created.bodyText)
        XCTAssertEqual(json(created)["teacher_id"]?.string, ada)

        // A second sign-in uses the cached discovery document and keys.
        XCTAssertEqual(signIn().status, 302)
        XCTAssertEqual(provider.hits["/.well-known/openid-configuration"], 1)
        XCTAssertEqual(provider.hits["/jwks"], 1)
    }

    func testSchoolAccountSessionEndsTwelveHoursAfterSignIn() throws {
        let callback = signIn()
        let first = try XCTUnwrap(setCookie("att_refresh", in: callback))
        clock.offsetMs = 11 * 3_600_000
        let rotated = request("POST", "/v1/auth/refresh", headers: ["Cookie": "att_refresh=\(first)"])
        XCTAssertEqual(rotated.status, 200, rotated.bodyText)
        let cookie = rotated.headers.values(for: "Set-Cookie").first { $0.hasPrefix("att_refresh=") } ?? ""
        XCTAssertTrue(cookie.contains("Max-Age=3599") || cookie.contains("Max-Age=3600"), cookie)
        let second = try XCTUnwrap(setCookie("att_refresh", in: rotated))
        // Refreshing does not stretch the family's life in Redis past the 12 h either.
        let family = String(second.prefix { $0 != "." })
        let ttlMs = Int(RedisServer.shared.cli("PTTL", Keys.session(family: family)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        XCTAssertTrue((0...(12 * 3_600_000)).contains(ttlMs), "PTTL \(ttlMs)")
        clock.offsetMs = 12 * 3_600_000 + 1_000
        assertError(request("POST", "/v1/auth/refresh", headers: ["Cookie": "att_refresh=\(second)"]), 401, "unauthorized")
    }

    func testAdminByAllowListAndRefusedWithoutARole() throws {
        provider.userClaims = #""email":"\#(ada)","groups":["it"]"#
        XCTAssertEqual(session(from: signIn())["user"]?["role"]?.string, "admin")
        provider.userClaims = #""email":"\#(ada)","groups":["pupils"]"#
        assertSignInError(signIn(), "/dashboard?sso_error=not_allowed")
        provider.userClaims = #""email":"\#(ada)","email_verified":false,"groups":["staff"]"#
        assertSignInError(signIn(), "/dashboard?sso_error=not_allowed")

        stopServer()
        try startServer {
            var settings = self.settings()
            settings.roleClaim = nil
            settings.allowList = [self.ada: .teacher]
            $0.oidc = settings
        }
        provider.userClaims = #""email":"\#(ada)""#
        XCTAssertEqual(session(from: signIn())["user"]?["role"]?.string, "teacher")
        provider.userClaims = #""email":"bob@school.example""#
        assertSignInError(signIn(), "/dashboard?sso_error=not_allowed")
    }

    func testES256Provider() {
        provider.publishedKeys = [Self.ec]
        provider.signingKey = Self.ec
        XCTAssertEqual(session(from: signIn())["user"]?["id"]?.string, ada)
    }

    func testForgedOrMisdirectedIdTokensAreRefused() {
        let faults: [(String, (TestOIDCProvider) -> Void)] = [
            ("bad signature", { $0.signingKey = TestSigningKey(rsaBits: 2048, kid: "r1") }),
            ("wrong aud", { $0.audOverride = "someone-else" }),
            ("wrong iss", { $0.issOverride = "http://127.0.0.1:1" }),
            ("expired", { $0.expOffsetS = -120 }),
            ("wrong nonce", { $0.nonceOverride = "replayed-nonce" }),
            ("alg none", { $0.algNone = true }),
        ]
        for (name, inject) in faults {
            provider.signingKey = Self.rsa
            provider.audOverride = nil
            provider.issOverride = nil
            provider.expOffsetS = 300
            provider.nonceOverride = nil
            provider.algNone = false
            inject(provider)
            let response = signIn(next: "/dashboard?tab=1")
            XCTAssertEqual(response.headers["Location"], "/dashboard?tab=1&sso_error=token_invalid", name)
            XCTAssertNil(setCookie("att_refresh", in: response), name)
        }
    }

    func testUnknownKidRefreshesTheKeySetOnceThenRefuses() {
        XCTAssertEqual(signIn().headers["Location"], "/dashboard")
        XCTAssertEqual(provider.hits["/jwks"], 1)
        // The provider rotates to a new key: the cached set lacks its kid, one refresh finds it.
        let next = TestSigningKey(rsaBits: 2048, kid: "r2")
        provider.publishedKeys = [Self.rsa, next]
        provider.signingKey = next
        XCTAssertEqual(session(from: signIn())["user"]?["id"]?.string, ada)
        XCTAssertEqual(provider.hits["/jwks"], 2)
        // A kid nobody publishes: no second refresh within 30 s, the token is refused.
        provider.signingKey = TestSigningKey(p256Kid: "forged")
        assertSignInError(signIn(), "/dashboard?sso_error=token_invalid")
        XCTAssertEqual(provider.hits["/jwks"], 2)
    }

    func testInterceptedCodeIsUselessWithoutItsVerifier() throws {
        // An attacker's sign-in (A) and a victim's code (B): redeeming B's code with A's state sends
        // A's PKCE verifier, which does not match B's challenge.
        let attacker = try XCTUnwrap(start())
        let victim = try XCTUnwrap(start())
        let victimCallback = authorize(victim)
        let attackerState = try XCTUnwrap(attacker.authorizeTarget.split(separator: "&").first { $0.hasPrefix("state=") })
        let code = try XCTUnwrap(victimCallback.split(separator: "?")[1].split(separator: "&").first { $0.hasPrefix("code=") })
        let forged = "/v1/auth/oidc/callback?\(code)&\(attackerState)"
        assertSignInError(callback(forged, stateCookie: attacker.stateCookie), "/dashboard?sso_error=token_invalid")
        XCTAssertEqual(provider.lastTokenError, "PKCE verification failed")
    }

    func testStateIsSingleUseAndBoundToTheBrowser() throws {
        assertSignInError(callback("/v1/auth/oidc/callback?code=x&state=nonsense", stateCookie: "nonsense"), "/?sso_error=bad_state")
        // Someone else's callback URL opened in this browser (no matching state cookie): login CSRF.
        let started = try XCTUnwrap(start())
        let target = authorize(started)
        assertSignInError(callback(target, stateCookie: nil), "/dashboard?sso_error=bad_state")
        // A replayed callback finds its state used.
        let again = try XCTUnwrap(start())
        let replayTarget = authorize(again)
        XCTAssertEqual(callback(replayTarget, stateCookie: again.stateCookie).headers["Location"], "/dashboard")
        assertSignInError(callback(replayTarget, stateCookie: again.stateCookie), "/?sso_error=bad_state")
    }

    func testProviderRefusalAndUnreachableProvider() throws {
        provider.denyAuthorization = true
        assertSignInError(signIn(), "/dashboard?sso_error=provider_error")
        provider.denyAuthorization = false

        stopServer()
        try startServer { $0.oidc = self.settings(issuer: "http://127.0.0.1:\(freeTCPPort())") }
        let response = request("GET", "/v1/auth/oidc/start?as=teacher&next=/dashboard")
        assertSignInError(response, "/dashboard?sso_error=provider_unavailable")
    }

    func testOpenRedirectsAndBadParametersAreRefused() {
        for next in ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil", "/a#b", "/a\nb", "/a b"] {
            assertError(request("GET", "/v1/auth/oidc/start?as=teacher&next=\(FormEncoding.escape(next))"), 400, "bad_request")
        }
        assertError(request("GET", "/v1/auth/oidc/start?as=admin"), 400, "bad_request")
        XCTAssertEqual(request("GET", "/v1/auth/oidc/start?as=student").headers["Location"]?.hasPrefix(provider.issuer), true)
    }

    func testWithoutOIDCTheEndpointsSaySo() throws {
        stopServer()
        try startServer()
        XCTAssertEqual(json(request("GET", "/v1/auth/methods")), ["local": true, "oidc": ["teacher": false, "student": false]])
        assertError(request("GET", "/v1/auth/oidc/start?as=teacher"), 404, "not_found")
        assertError(request("GET", "/v1/auth/oidc/callback?code=x&state=y"), 404, "not_found")
    }

    func testFailedCallbacksCountAgainstTheAddress() throws {
        let failureKey = Keys.failures(address: "127.0.0.1")
        stopServer()
        RedisServer.shared.cli("DEL", failureKey)
        addTeardownBlock { RedisServer.shared.cli("DEL", failureKey) }
        try startServer {
            $0.oidc = self.settings()
            $0.limits.failuresPerAddress = 3
        }
        for _ in 0..<3 {
            assertSignInError(callback("/v1/auth/oidc/callback?code=x&state=nonsense", stateCookie: nil), "/?sso_error=bad_state")
        }
        // Over the limit even a good sign-in is refused until the window passes.
        assertSignInError(signIn(), "/?sso_error=rate_limited")
    }

    func testStudentSignsInAndJoinsAsThatId() throws {
        let created = createClass(#"{"name":"Roster","roster":["\#(ada)","s2"]}"#)
        let code = try XCTUnwrap(created["code"]?.string)
        provider.userClaims = #""email":"\#(ada)","name":"Ada""#
        let student = session(from: signIn(as: "student", next: "/checkin"))
        XCTAssertEqual(student["user"]?["role"]?.string, "student")
        let token = try XCTUnwrap(student["access_token"]?.string)
        // The student token is not good for anything but joining.
        assertError(request("GET", "/v1/classes/\(created["class_id"]!.string!)", token: token), 403, "forbidden")
        assertError(request("POST", "/v1/join", token: token, json: #"{"code":"\#(code)","student_id":"s2"}"#), 400, "bad_request")
        let joined = request("POST", "/v1/join", token: token, json: #"{"code":"\#(code)"}"#)
        XCTAssertEqual(joined.status, 200, joined.bodyText)
        XCTAssertEqual(json(joined)["student_id"]?.string, ada)
        XCTAssertEqual(request("POST", "/v1/join", token: token, json: #"{"code":"\#(code)","student_id":"\#(ada)"}"#).status, 200)
        // A teacher's token is no student identity.
        assertError(request("POST", "/v1/join", token: teacher, json: #"{"code":"\#(code)"}"#), 403, "forbidden")

        // Not on the roster: refused like a wrong code (no roster oracle).
        provider.userClaims = #""email":"eve@school.example""#
        let eve = session(from: signIn(as: "student", next: "/checkin"))
        let refused = request("POST", "/v1/join", token: eve["access_token"]?.string, json: #"{"code":"\#(code)"}"#)
        XCTAssertNotEqual(refused.status, 200, refused.bodyText)
    }

    func testImportedPeopleSignInAsTheirRosterIds() throws {
        let p = SchoolFixtures.prefix()
        let student = "\(p)-s1"
        XCTAssertEqual(importBundle(SchoolFixtures.mini(p, students: [student])).status, 200)
        // The roster's teacher needs no role claim, and signs in as its sourcedId, the id its course knows.
        provider.userClaims = #""email":"\#(p).Teacher@school.example","name":"Marie Curie""#
        let teacher = session(from: signIn())
        XCTAssertEqual(teacher["user"], ["id": .string("\(p)-t"), "role": "teacher", "name": "Marie Curie"])
        let opened = createClass(#"{"course_id":"\#(p)-sec"}"#, as: teacher["access_token"]?.string)
        let code = try XCTUnwrap(opened["code"]?.string)
        // The roster's student joins that session as its sourcedId.
        provider.userClaims = #""email":"\#(student)@students.example""#
        let pupil = session(from: signIn(as: "student", next: "/checkin"))
        XCTAssertEqual(pupil["user"]?["id"]?.string, student)
        let joined = request("POST", "/v1/join", token: pupil["access_token"]?.string, json: #"{"code":"\#(code)"}"#)
        XCTAssertEqual(joined.status, 200, joined.bodyText)
        XCTAssertEqual(json(joined)["student_id"]?.string, student)
        // An imported student is no teacher.
        assertSignInError(signIn(), "/dashboard?sso_error=not_allowed")
    }

    /// In a class that admits new students only by personal link, a school-account sign-in counts as
    /// identified: its student joins by code and checks in by a first QR; typed ids stay refused.
    func testSchoolAccountCountsAsIdentifiedInALinkOnlyClass() throws {
        let created = createClass(#"{"name":"Linked","roster":["\#(ada)","s2"],"join_requires":"link"}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string), code = try XCTUnwrap(created["code"]?.string)
        let currentQR = qr(classId: classId, window: currentWindow())
        assertError(join(#""code":"\#(code)""#, student: "s2"), 403, "forbidden")
        assertError(join(#""qr":"\#(currentQR)""#, student: "s2"), 403, "forbidden")
        XCTAssertEqual(RedisServer.shared.cli("HEXISTS", Keys.students(classId), ada), "0")

        provider.userClaims = #""email":"\#(ada)","name":"Ada""#
        let token = try XCTUnwrap(session(from: signIn(as: "student", next: "/checkin"))["access_token"]?.string)
        // A first QR join checks the signed-in student in; so does a join by code in another such class.
        let scanned = request("POST", "/v1/join", token: token, json: #"{"qr":"\#(currentQR)"}"#)
        XCTAssertEqual(scanned.status, 200, scanned.bodyText)
        XCTAssertEqual(json(scanned)["student_id"]?.string, ada)
        XCTAssertEqual(json(scanned)["status"]?.string, "present")
        let other = createClass(#"{"name":"Linked 2","roster":["\#(ada)"],"join_requires":"link"}"#)
        let byCode = request("POST", "/v1/join", token: token, json: #"{"code":"\#(other["code"]!.string!)"}"#)
        XCTAssertEqual(byCode.status, 200, byCode.bodyText)
        XCTAssertEqual(json(byCode)["status"]?.string, "unmarked")
        // The roster still decides: a signed-in student not on it is refused like a wrong code.
        provider.userClaims = #""email":"eve@school.example""#
        let eve = try XCTUnwrap(session(from: signIn(as: "student", next: "/checkin"))["access_token"]?.string)
        assertError(request("POST", "/v1/join", token: eve, json: #"{"code":"\#(code)"}"#), 422, "code_invalid")
    }
}
