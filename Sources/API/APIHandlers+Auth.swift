import Attendance
import HTTP

/// Local accounts' sessions: `POST /v1/auth/login`, `/refresh`, `/logout`. The access token is the
/// usual JWT (15 minutes); the refresh token travels only in an HttpOnly, SameSite=Strict cookie
/// scoped to `/v1/auth`, so page scripts never see it and other sites cannot send it.
extension APIHandlers {
    static let accessTokenLifetimeS: Int64 = 900
    static let refreshCookie = "att_refresh"
    /// One message for an unknown id, a wrong password and a disabled account: no user oracle.
    static let loginRefused = "The id or password is wrong, or the account is disabled"
    static let sessionRefused = "The session has ended; sign in again"

    func login(_ exchange: Exchange) {
        guard let body = body(exchange, fields: ["id", "password"]) else { return }
        let id: String, password: String
        do throws(APIError) {
            id = try body.requiredString("id")
            password = try body.requiredString("password")
        } catch {
            return exchange.fail(error)
        }
        guard id.utf8.count <= 256, password.utf8.count <= PasswordHash.maxLength else {
            return exchange.fail(.badRequest("id and password are at most 256 and \(PasswordHash.maxLength) bytes"))
        }
        store.login(id: id, password: password, address: exchange.clientAddress) { result in
            self.answerSession(exchange, result, refused: Self.loginRefused)
        }
    }

    func refresh(_ exchange: Exchange) {
        guard let cookie = Self.cookie(Self.refreshCookie, in: exchange.request) else {
            return exchange.fail(.unauthorized("No session cookie; sign in"))
        }
        store.refresh(cookieValue: cookie) { result in
            self.answerSession(exchange, result, refused: Self.sessionRefused)
        }
    }

    /// Revokes the session's whole family and clears the cookie; 204 also without a session.
    func logout(_ exchange: Exchange) {
        let cookie = Self.cookie(Self.refreshCookie, in: exchange.request) ?? ""
        store.logout(cookieValue: cookie) { result in
            if case .failure(let error) = result { return exchange.fail(APIError(error)) }
            var response = HTTPResponse(status: 204)
            response.headers.add("Cache-Control", "no-store")
            response.headers.add("Set-Cookie", self.refreshCookieHeader(value: "", maxAgeS: 0))
            exchange.send(response)
        }
    }

    private func answerSession(_ exchange: Exchange, _ result: Result<(UserAccount, RefreshSession), AttendanceError>, refused: String) {
        switch result {
        case .success(let (user, session)):
            let now = authentication.clock() / 1000
            let token = configuration.signer.sign(AccessClaims(sub: user.id, role: user.role, iat: now,
                                                               exp: now + Self.accessTokenLifetimeS))
            var response = HTTPResponse.json(200, ResponseEncoding.session(accessToken: token, expiresIn: Self.accessTokenLifetimeS, user: user))
            response.headers.add("Cache-Control", "no-store")
            response.headers.add("Set-Cookie", refreshCookieHeader(value: session.cookieValue, maxAgeS: session.maxAgeS))
            exchange.send(response)
        case .failure(.unauthorized):
            exchange.fail(.unauthorized(refused))
        case .failure(let error):
            if error.retryAfterS != nil { metrics.rateLimited += 1 }
            exchange.fail(APIError(error))
        }
    }

    /// `Secure` whenever students and teachers reach this server over https (the public URL says so).
    func refreshCookieHeader(value: String, maxAgeS: Int) -> String {
        "\(Self.refreshCookie)=\(value); HttpOnly; SameSite=Strict; Path=/v1/auth; Max-Age=\(maxAgeS)"
            + (publicBase.hasPrefix("https://") ? "; Secure" : "")
    }

    /// The value of cookie `name` in the request's Cookie header(s) (RFC 6265 §5.4: `a=b; c=d`).
    static func cookie(_ name: String, in request: HTTPRequest) -> String? {
        for header in request.headerValues("Cookie") {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                return String(trimmed[trimmed.index(after: equals)...]).trimmingSpaces()
            }
        }
        return nil
    }

    /// `GET /v1/classes?mine=1` (teacher, admin): the caller's classes, open first, then the most
    /// recently started; at most `ClassStore.mineLimit`.
    func listClasses(_ exchange: Exchange) {
        guard let actor = authenticate(exchange) else { return }
        guard exchange.request.query("mine") == "1" else {
            return exchange.fail(.badRequest("Listing classes needs mine=1 (a caller sees only its own classes)"))
        }
        store.mineClasses(actor: actor) { [publicBase] result in
            self.reply(exchange, result) { ResponseEncoding.classList($0, publicBase: publicBase) }
        }
    }
}

private extension String {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
