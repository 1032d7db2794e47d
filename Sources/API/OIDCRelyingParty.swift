import Attendance
import EventLoop
import HTTP
import JSON
import Logging

/// Why a school-account sign-in failed, as the `sso_error` code the browser is sent back with
/// (PROTOCOL.md "Sign-in with a school account").
enum SignInFailure: String, Error, Equatable {
    /// The provider answered the authorization request with an `error` (the user cancelled, …).
    case providerError = "provider_error"
    /// `state` unknown, used or expired: a forged or replayed callback, or a sign-in left too long.
    case badState = "bad_state"
    /// Discovery, the key set or the token endpoint could not be reached or answered nonsense.
    case providerUnavailable = "provider_unavailable"
    /// The code was refused or the id_token failed verification (signature, iss, aud, exp, nonce).
    case tokenInvalid = "token_invalid"
    /// The account has no usable id, or is not a teacher or admin when signing in as one.
    case notAllowed = "not_allowed"
    /// Too many failed attempts from this address.
    case rateLimited = "rate_limited"
}

/// The OpenID Connect relying party: the provider's discovery document and key set, cached, and
/// the token request. Bound to the loop of the API's store.
final class OIDCRelyingParty {
    let settings: OIDCSettings
    let http: OutboundHTTPClient
    private let logger: Logger
    /// Wall-clock milliseconds (the store's clock, so tests can move it).
    private let clock: () -> Int64

    /// Discovery and keys are fetched again after this long, so a provider's changes (a new key
    /// published ahead of a rotation) arrive without a restart.
    static let cacheTTLMs: Int64 = 3_600_000
    /// An id_token with an unknown `kid` refreshes the keys at most this often: a rotation is picked
    /// up at once, but forged kids cannot turn sign-ins into a flood of requests to the provider.
    static let forcedRefreshIntervalMs: Int64 = 30_000
    /// Callers waiting for one fetch in flight; beyond it they fail rather than queue.
    static let maxWaiting = 256
    /// After a failed discovery, sign-ins fail at once for this long instead of each waiting for a
    /// provider that is down (and adding to its load when it comes back).
    static let failureHoldMs: Int64 = 5_000

    private var discovery: (value: OIDCDiscovery, fetchedMs: Int64)?
    private var keys: (value: JSONWebKeySet, fetchedMs: Int64)?
    private var lastForcedRefreshMs: Int64 = .min / 2
    private var discoveryFailedMs: Int64 = .min / 2
    private var discoveryWaiters: [(Result<OIDCDiscovery, SignInFailure>) -> Void] = []
    private var keyWaiters: [(Result<JSONWebKeySet, SignInFailure>) -> Void] = []

    init(settings: OIDCSettings, http: OutboundHTTPClient, clock: @escaping () -> Int64, logger: Logger) {
        self.settings = settings
        self.http = http
        self.clock = clock
        self.logger = logger
    }

    // MARK: - Discovery and keys

    func discover(_ completion: @escaping (Result<OIDCDiscovery, SignInFailure>) -> Void) {
        if let discovery, clock() - discovery.fetchedMs < Self.cacheTTLMs { return completion(.success(discovery.value)) }
        guard clock() - discoveryFailedMs >= Self.failureHoldMs else { return completion(.failure(.providerUnavailable)) }
        guard discoveryWaiters.count < Self.maxWaiting else { return completion(.failure(.providerUnavailable)) }
        discoveryWaiters.append(completion)
        guard discoveryWaiters.count == 1 else { return }
        var issuer = Substring(settings.issuer)
        while issuer.hasSuffix("/") { issuer = issuer.dropLast() }
        getJSON(issuer + "/.well-known/openid-configuration") { result in
            let decoded = result.flatMap { body -> Result<OIDCDiscovery, SignInFailure> in
                guard let found = OIDCDiscovery(json: body, issuer: self.settings.issuer) else {
                    self.logger.error("the provider's discovery document is unusable (issuer must match oidc.issuer; endpoints https)")
                    return .failure(.providerUnavailable)
                }
                return .success(found)
            }
            switch decoded {
            case .success(let value): self.discovery = (value, self.clock())
            case .failure: self.discoveryFailedMs = self.clock()
            }
            let waiters = self.discoveryWaiters
            self.discoveryWaiters = []
            for waiter in waiters { waiter(decoded) }
        }
    }

    /// The key set, cached; `forceRefresh` fetches it again unless that happened within
    /// `forcedRefreshIntervalMs` (then it answers nil: nothing new to try).
    func keySet(forceRefresh: Bool, _ completion: @escaping (Result<JSONWebKeySet?, SignInFailure>) -> Void) {
        let now = clock()
        if forceRefresh {
            guard now - lastForcedRefreshMs >= Self.forcedRefreshIntervalMs else { return completion(.success(nil)) }
            lastForcedRefreshMs = now
        } else if let keys, now - keys.fetchedMs < Self.cacheTTLMs {
            return completion(.success(keys.value))
        }
        guard keyWaiters.count < Self.maxWaiting else { return completion(.failure(.providerUnavailable)) }
        keyWaiters.append { completion($0.map { .some($0) }) }
        guard keyWaiters.count == 1 else { return }
        discover { found in
            switch found {
            case .failure(let failure): self.finishKeys(.failure(failure))
            case .success(let discovery):
                self.getJSON(discovery.jwksURI) { result in
                    self.finishKeys(result.flatMap { body in
                        guard let set = JSONWebKeySet(json: body), !set.keys.isEmpty else {
                            self.logger.error("the provider's key set has no usable RS256 or ES256 key")
                            return .failure(.providerUnavailable)
                        }
                        return .success(set)
                    })
                }
            }
        }
    }

    private func finishKeys(_ result: Result<JSONWebKeySet, SignInFailure>) {
        if case .success(let value) = result { keys = (value, clock()) }
        let waiters = keyWaiters
        keyWaiters = []
        for waiter in waiters { waiter(result) }
    }

    private func getJSON(_ url: String, _ completion: @escaping (Result<[UInt8], SignInFailure>) -> Void) {
        guard let parsed = OutboundURL(url) else {
            logger.error("unusable provider URL", metadata: ["url": "\(url)"])
            return completion(.failure(.providerUnavailable))
        }
        http.send(method: "GET", url: parsed, headers: ["Accept": "application/json"]) { [logger] result in
            switch result {
            case .success(let response) where response.status == 200:
                completion(.success(response.body))
            case .success(let response):
                logger.error("the provider answered \(response.status)", metadata: ["url": "\(url)"])
                completion(.failure(.providerUnavailable))
            case .failure(let error):
                logger.error("the provider could not be reached: \(error)", metadata: ["url": "\(url)"])
                completion(.failure(.providerUnavailable))
            }
        }
    }

    // MARK: - Code exchange and verification

    /// Trades `code` for the id_token (RFC 6749 §4.1.3 with PKCE's `code_verifier`, RFC 7636 §4.5)
    /// and verifies it; the claims on success.
    func redeem(code: String, pending: PendingSignIn, _ completion: @escaping (Result<JSONObject, SignInFailure>) -> Void) {
        discover { found in
            guard case .success(let discovery) = found, let url = OutboundURL(discovery.tokenEndpoint) else {
                return completion(.failure(.providerUnavailable))
            }
            var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", self.settings.redirectURL),
                        ("code_verifier", pending.verifier)]
            var headers: HTTPHeaders = ["Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"]
            if let secret = self.settings.clientSecret {
                // client_secret_basic (RFC 6749 §2.3.1): both parts form-encoded, then Base64.
                let pair = FormEncoding.escape(self.settings.clientId) + ":" + FormEncoding.escape(secret)
                headers.add("Authorization", "Basic " + Self.base64(Array(pair.utf8)))
            } else {
                form.append(("client_id", self.settings.clientId))
            }
            self.http.send(method: "POST", url: url, headers: headers, body: Array(FormEncoding.encode(form).utf8)) { result in
                switch result {
                case .failure(let error):
                    self.logger.error("the token endpoint could not be reached: \(error)")
                    completion(.failure(.providerUnavailable))
                case .success(let response):
                    let json = try? JSON.parse(response.body)
                    guard response.status == 200, let idToken = json?["id_token"]?.string else {
                        // 400 invalid_grant: a used, expired or intercepted code, or a PKCE mismatch.
                        self.logger.notice("the token endpoint refused the code", metadata: [
                            "status": "\(response.status)", "error": "\(json?["error"]?.string ?? "-")"])
                        return completion(.failure(response.status == 400 || response.status == 401 ? .tokenInvalid : .providerUnavailable))
                    }
                    self.verify(idToken, nonce: pending.nonce, refreshed: false, completion)
                }
            }
        }
    }

    private func verify(_ idToken: String, nonce: String, refreshed: Bool,
                        _ completion: @escaping (Result<JSONObject, SignInFailure>) -> Void) {
        keySet(forceRefresh: refreshed) { found in
            switch found {
            case .failure(let failure): return completion(.failure(failure))
            case .success(nil):
                self.logger.notice("an id_token names an unknown key; the key set was refreshed recently")
                return completion(.failure(.tokenInvalid))
            case .success(let keys?):
                let verifier = IDTokenVerifier(issuer: self.settings.issuer, clientId: self.settings.clientId)
                do throws(IDTokenError) {
                    completion(.success(try verifier.verify(idToken, keys: keys, nonce: nonce, nowS: self.clock() / 1000)))
                } catch .unknownKey where !refreshed {
                    // The provider may have rotated its keys since they were cached.
                    self.verify(idToken, nonce: nonce, refreshed: true, completion)
                } catch {
                    self.logger.notice("an id_token was refused", metadata: ["reason": "\(error)"])
                    completion(.failure(.tokenInvalid))
                }
            }
        }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(table[b0 >> 2])
            out.append(table[(b0 & 3) << 4 | b1 >> 4])
            out.append(i + 1 < bytes.count ? table[(b1 & 15) << 2 | b2 >> 6] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? table[b2 & 63] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

@available(*, unavailable)
extension OIDCRelyingParty: Sendable {}
