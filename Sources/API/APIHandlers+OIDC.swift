import Attendance
import HTTP
import JSON

/// Sign-in with a school account (OpenID Connect authorization code flow with PKCE):
/// `GET /v1/auth/methods`, `GET /v1/auth/oidc/start`, `GET /v1/auth/oidc/callback`. A successful
/// callback starts the same refresh-token session as a local login and sends the browser on to
/// `next`, whose page then calls `POST /v1/auth/refresh` for its access token.
extension APIHandlers {
    /// Binds a sign-in to the browser that started it (login CSRF: someone else's callback URL,
    /// opened in this browser, finds no matching cookie). SameSite=Lax, because the provider's
    /// redirect back is a cross-site navigation that a Strict cookie would not accompany.
    static let signInCookie = "att_oidc_state"
    static let oidcScope = "openid email profile"
    static let maxNextBytes = 1024

    /// `GET /v1/auth/methods`: which sign-ins the pages should offer.
    func authMethods(_ exchange: Exchange) {
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("local", true)
        w.key("oidc")
        w.beginObject()
        w.field("teacher", oidc?.settings.teachersEnabled ?? false)
        w.field("student", oidc != nil)
        w.endObject()
        w.endObject()
        exchange.json(200, w.bytes)
    }

    /// `GET /v1/auth/oidc/start?as=teacher|student&next=/path` → 302 to the provider.
    func oidcStart(_ exchange: Exchange) {
        guard let oidc else { return exchange.fail(Self.oidcOff) }
        let role: Role
        switch exchange.request.query("as") {
        case "teacher"?:
            guard oidc.settings.teachersEnabled else {
                return exchange.fail(APIError(.notFound("School-account sign-in is not set up for teachers")))
            }
            role = .teacher
        case "student"?: role = .student
        default: return exchange.fail(.badRequest("as must be teacher or student"))
        }
        let next = exchange.request.query("next") ?? "/"
        guard Self.isSafeNext(next) else {
            return exchange.fail(.badRequest("next must be a path on this site: starting with one /, at most \(Self.maxNextBytes) bytes of visible ASCII, no \\ or #"))
        }
        oidc.discover { found in
            guard case .success(let discovery) = found else { return self.signInFailed(exchange, next: next, .providerUnavailable) }
            let state = Base64URL.encode(Crypto.randomBytes(32))
            let verifier = Base64URL.encode(Crypto.randomBytes(32))
            let pending = PendingSignIn(nonce: Base64URL.encode(Crypto.randomBytes(32)), verifier: verifier, role: role, next: next)
            self.store.saveSignIn(state: state, pending) { saved in
                switch saved {
                case .failure(.rateLimited): return self.signInFailed(exchange, next: next, .rateLimited)
                case .failure(let error): return exchange.fail(APIError(error))
                case .success: break
                }
                let query = FormEncoding.encode([
                    ("response_type", "code"), ("client_id", oidc.settings.clientId), ("redirect_uri", oidc.settings.redirectURL),
                    ("scope", Self.oidcScope), ("state", state), ("nonce", pending.nonce),
                    ("code_challenge", Base64URL.encode(Crypto.sha256(Array(verifier.utf8)))), ("code_challenge_method", "S256"),
                ])
                let endpoint = discovery.authorizationEndpoint
                var response = Self.redirect(to: endpoint + (endpoint.contains("?") ? "&" : "?") + query)
                response.headers.add("Set-Cookie", self.signInCookieHeader(value: state, maxAgeS: ClassStore.signInTTLS))
                exchange.send(response)
            }
        }
    }

    /// `GET /v1/auth/oidc/callback?code=&state=` (or `?error=&state=`): the provider sends the browser back.
    func oidcCallback(_ exchange: Exchange) {
        guard let oidc else { return exchange.fail(Self.oidcOff) }
        let state = exchange.request.query("state") ?? ""
        let cookie = Self.cookie(Self.signInCookie, in: exchange.request)
        store.takeSignIn(state: state, address: exchange.clientAddress) { taken in
            switch taken {
            case .failure(.rateLimited): return self.signInFailed(exchange, next: "/", .rateLimited)
            case .failure(let error): return exchange.fail(APIError(error))
            case .success(nil):
                return self.countedFailure(exchange, next: "/", .badState)
            case .success(let pending?):
                guard let cookie, Crypto.constantTimeEqual(Array(cookie.utf8), Array(state.utf8)) else {
                    return self.countedFailure(exchange, next: pending.next, .badState)
                }
                if exchange.request.query("error") != nil {
                    return self.signInFailed(exchange, next: pending.next, .providerError)
                }
                guard let code = exchange.request.query("code"), !code.isEmpty, code.utf8.count <= 2048 else {
                    return self.countedFailure(exchange, next: pending.next, .providerError)
                }
                oidc.redeem(code: code, pending: pending) { redeemed in
                    switch redeemed {
                    case .failure(.providerUnavailable): self.signInFailed(exchange, next: pending.next, .providerUnavailable)
                    case .failure(let failure): self.countedFailure(exchange, next: pending.next, failure)
                    case .success(let claims): self.signedIn(exchange, claims: claims, pending: pending, settings: oidc.settings)
                    }
                }
            }
        }
    }

    private func signedIn(_ exchange: Exchange, claims: JSONObject, pending: PendingSignIn, settings: OIDCSettings) {
        guard let accountId = settings.subjectId(claims: claims) else {
            logger.notice("a school account has no usable id", metadata: ["claim": "\(settings.idClaim)"])
            return countedFailure(exchange, next: pending.next, .notAllowed)
        }
        // A person imported from the school's roster (OneRoster users.csv) signs in as its sourcedId,
        // the id its courses, rosters and reports use; anyone else by the mapped claim.
        store.rosterPerson(ssoId: accountId) { found in
            switch found {
            case .failure(let error): exchange.fail(APIError(error))
            case .success(let person):
                self.signedIn(exchange, accountId: accountId, person: person, claims: claims, pending: pending, settings: settings)
            }
        }
    }

    private func signedIn(_ exchange: Exchange, accountId: String, person: RosterPerson?, claims: JSONObject,
                          pending: PendingSignIn, settings: OIDCSettings) {
        let id = person?.id ?? accountId
        let role: Role
        if pending.role == .student {
            role = .student
        } else if let staff = settings.staffRole(id: accountId, claims: claims) {
            role = staff
        } else if person?.role == "teacher" {
            // The roster says so: an imported teacher needs no role claim or allow-list line.
            role = .teacher
        } else {
            logger.notice("a school account without a teacher or admin role tried to sign in as a teacher", metadata: ["id": "\(id)"])
            return countedFailure(exchange, next: pending.next, .notAllowed)
        }
        let given = claims["name"]?.string ?? person?.name ?? ""
        let name = ClassStore.isCleanText(given, maxCharacters: CreateClassRequest.nameLength.upperBound) && !given.isEmpty ? given : id
        store.startSSOSession(id: id, role: role, name: name) { started in
            switch started {
            case .failure(let error): exchange.fail(APIError(error))
            case .success(let (_, session)):
                var response = Self.redirect(to: pending.next)
                response.headers.add("Set-Cookie", self.refreshCookieHeader(value: session.cookieValue, maxAgeS: session.maxAgeS))
                response.headers.add("Set-Cookie", self.signInCookieHeader(value: "", maxAgeS: 0))
                exchange.send(response)
            }
        }
    }

    /// A failure a guesser could learn from (bad state, refused token, no role): counted against the
    /// address like a wrong password, then reported.
    private func countedFailure(_ exchange: Exchange, next: String, _ failure: SignInFailure) {
        store.countSignInFailure(address: exchange.clientAddress, .unauthorized) { _ in
            self.signInFailed(exchange, next: next, failure)
        }
    }

    /// Sends the browser back to `next` with `sso_error=<code>`, so its page can say what happened.
    private func signInFailed(_ exchange: Exchange, next: String, _ failure: SignInFailure) {
        metrics.signInFailures += 1
        var response = Self.redirect(to: next + (next.contains("?") ? "&" : "?") + "sso_error=" + failure.rawValue)
        response.headers.add("Set-Cookie", signInCookieHeader(value: "", maxAgeS: 0))
        exchange.send(response)
    }

    static let oidcOff = APIError(.notFound("School-account sign-in is not configured on this server"))

    static func redirect(to location: String) -> HTTPResponse {
        var response = HTTPResponse(status: 302)
        response.headers.add("Location", location)
        response.headers.add("Cache-Control", "no-store")
        // The provider's URL carries state and the callback's the code: neither goes on in a Referer.
        response.headers.add("Referrer-Policy", "no-referrer")
        return response
    }

    func signInCookieHeader(value: String, maxAgeS: Int) -> String {
        "\(Self.signInCookie)=\(value); HttpOnly; SameSite=Lax; Path=/v1/auth/oidc; Max-Age=\(maxAgeS)"
            + (publicBase.hasPrefix("https://") ? "; Secure" : "")
    }

    /// A same-origin path only: one leading "/" (not "//" or "/\", which browsers read as another
    /// host), visible ASCII, no backslash or fragment. Anything else would make the sign-in an open
    /// redirect to someone else's site.
    static func isSafeNext(_ next: String) -> Bool {
        let bytes = Array(next.utf8)
        guard bytes.count <= maxNextBytes, bytes.first == UInt8(ascii: "/") else { return false }
        if bytes.count > 1, bytes[1] == UInt8(ascii: "/") { return false }
        return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "#") }
    }
}
