@testable import API
import Attendance
import EventLoop
import HTTP
import JSON
import TestSupport
import XCTest

/// Sign-in against a real OpenID Connect provider from PyPI (django-oauth-toolkit), started by the
/// test: discovery, its RS256 key set, its login form (played by a Python `requests` browser), its
/// token endpoint with client_secret_basic and PKCE. Teachers by the `groups` claim, and a student
/// who then joins a class as the signed-in id.
final class OIDCProviderEndToEndTests: APITestCase {
    var provider: DjangoOIDCProvider?
    var python = ""
    let secret = "e2e-client-secret-" + String(UInt32.random(in: 0...UInt32.max))

    override func setUpWithError() throws {
        let found = DjangoOIDCProvider.python()
        guard let path = found.path else {
            throw XCTSkip("django-oauth-toolkit could not be installed by scripts/setup-oidc-provider.sh: \(found.problem)")
        }
        python = path
        let provider = try DjangoOIDCProvider(python: path, redirectURI: publicURL + "/v1/auth/oidc/callback", clientSecret: secret)
        self.provider = provider
        loop = try EventLoop()
        try startServer {
            var settings = OIDCSettings(issuer: provider.issuer, clientId: "attendance", redirectURL: self.publicURL + "/v1/auth/oidc/callback")
            settings.clientSecret = self.secret
            settings.roleClaim = "groups"
            settings.teacherValues = ["staff"]
            $0.oidc = settings
        }
    }

    override func tearDown() {
        super.tearDown()
        provider?.stop()
    }

    func cookie(_ name: String, in response: HTTPClientResponse) -> String? {
        response.headers.values(for: "Set-Cookie").first { $0.hasPrefix(name + "=") }
            .map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }

    /// start → provider login → callback; the callback's response.
    func signIn(as role: String, user: String, password: String, next: String) throws -> HTTPClientResponse {
        let started = request("GET", "/v1/auth/oidc/start?as=\(role)&next=\(FormEncoding.escape(next))")
        XCTAssertEqual(started.status, 302, started.bodyText)
        let authorize = try XCTUnwrap(started.headers["Location"])
        XCTAssertTrue(authorize.hasPrefix(try XCTUnwrap(provider).issuer + "/authorize/?"), authorize)
        let state = try XCTUnwrap(cookie("att_oidc_state", in: started))
        let back = try XCTUnwrap(provider).browse(python: python, authorizeURL: authorize, user: user, password: password,
                                                  redirectPrefix: publicURL + "/v1/auth/oidc/callback")
        XCTAssertTrue(back.contains("code="), back)
        return request("GET", String(back.dropFirst(publicURL.count)), headers: ["Cookie": "att_oidc_state=\(state)"])
    }

    func session(_ callback: HTTPClientResponse) throws -> JSONValue {
        let refresh = try XCTUnwrap(cookie("att_refresh", in: callback), "no session: \(callback.headers["Location"] ?? "-")")
        let response = request("POST", "/v1/auth/refresh", headers: ["Cookie": "att_refresh=\(refresh)"])
        XCTAssertEqual(response.status, 200, response.bodyText)
        return json(response)
    }

    func testTeacherAndStudentSignInWithARealProvider() throws {
        let teacherCallback = try signIn(as: "teacher", user: "ada", password: "correct horse", next: "/")
        XCTAssertEqual(teacherCallback.headers["Location"], "/")
        let teacher = try session(teacherCallback)
        XCTAssertEqual(teacher["user"], ["id": "ada@school.example", "role": "teacher", "name": "Ada Lovelace"])
        let created = request("POST", "/v1/classes", token: teacher["access_token"]?.string,
                              json: #"{"name":"Physics","roster":["sam@school.example"]}"#)
        XCTAssertEqual(created.status, 201, created.bodyText)
        let code = try XCTUnwrap(json(created)["code"]?.string)

        // A pupil is no teacher.
        let refused = try signIn(as: "teacher", user: "sam", password: "battery staple", next: "/")
        XCTAssertEqual(refused.headers["Location"], "/?sso_error=not_allowed")
        XCTAssertNil(cookie("att_refresh", in: refused))

        let student = try session(try signIn(as: "student", user: "sam", password: "battery staple", next: "/checkin"))
        XCTAssertEqual(student["user"]?["role"]?.string, "student")
        let joined = request("POST", "/v1/join", token: student["access_token"]?.string, json: #"{"code":"\#(code)"}"#)
        XCTAssertEqual(joined.status, 200, joined.bodyText)
        XCTAssertEqual(json(joined)["student_id"]?.string, "sam@school.example")
    }
}
