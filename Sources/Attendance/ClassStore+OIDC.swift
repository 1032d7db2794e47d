import JSON
import RedisClient

/// A school-account sign-in between its start and the provider's callback: what only this server
/// may know (nonce, PKCE verifier) and what the callback must do (role, where to go next).
public struct PendingSignIn: Sendable, Equatable {
    public let nonce: String
    public let verifier: String
    /// `teacher` (teachers and admins) or `student`.
    public let role: Role
    /// A same-origin relative path.
    public let next: String

    public init(nonce: String, verifier: String, role: Role, next: String) {
        self.nonce = nonce
        self.verifier = verifier
        self.role = role
        self.next = next
    }
}

extension ClassStore {
    /// A sign-in must come back from the provider within this time.
    public static let signInTTLS = 600
    /// Sign-ins started per minute across all processes. Each waits in Redis for up to
    /// `signInTTLS`, so at most ten times this many (a few MiB) can pile up, whoever sends them.
    public static let signInStartsPerMinute = 3_000

    /// Keeps `pending` under `state` (single use, `signInTTLS`). `rate_limited` when the global budget
    /// of sign-ins per minute is spent.
    public func saveSignIn(state: String, _ pending: PendingSignIn, completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        rateLimit(scope: "oidc", key: "starts", limit: Self.signInStartsPerMinute, windowS: 60) { decision in
            switch decision {
            case .failure(let error): return completion(.failure(error))
            case .success(let d) where !d.allowed: return completion(.failure(.rateLimited(retryAfterS: d.retryAfterS)))
            case .success: break
            }
            var w = JSONWriter(capacity: 256)
            w.beginObject()
            w.field("n", pending.nonce)
            w.field("v", pending.verifier)
            w.field("r", pending.role.rawValue)
            w.field("next", pending.next)
            w.endObject()
            self.redis.send(bytes: [Array("SET".utf8), Array(Keys.signIn(state).utf8), w.bytes, Array("PX".utf8),
                                    Array(String(Self.signInTTLS * 1000).utf8), Array("NX".utf8)]) { [logger = self.logger] result in
                // A nil reply (NX refused) would mean two equal states of 32 random bytes: a broken
                // random source, reported as the store failing.
                completion(Self.map(result, logger: logger) { value in value.isNull ? nil : () })
            }
        }
    }

    /// Takes the sign-in of `state` (it can never be used again); nil when there is none — unknown,
    /// used or expired. Refused while `address` is over its failure limit.
    public func takeSignIn(state: String, address: String, completion: @escaping (Result<PendingSignIn?, AttendanceError>) -> Void) {
        guard state.utf8.count == 43, Base64URL.decode(state) != nil else {
            return checkFailures(address: address) { refusal in completion(refusal.map { .failure($0) } ?? .success(nil)) }
        }
        gated(address: address, { done in
            // GETDEL: the first callback with this state consumes it, a replay finds nothing.
            self.redis.send(["GETDEL", Keys.signIn(state)]) { done($0) }
        }) { [logger] gate in
            switch gate {
            case .failure(let error): return completion(.failure(error))
            case .success(let result):
                completion(Self.map(result, logger: logger) { value -> PendingSignIn?? in
                    if value.isNull { return .some(nil) }
                    guard let text = value.text, let json = try? JSON.parse(Array(text.utf8)),
                          let nonce = json["n"]?.string, let verifier = json["v"]?.string,
                          let role = json["r"]?.string.flatMap(Role.init(rawValue:)), let next = json["next"]?.string
                    else { return nil }
                    return .some(PendingSignIn(nonce: nonce, verifier: verifier, role: role, next: next))
                })
            }
        }
    }

    /// Counts a failed school-account sign-in (bad state, refused token, no role) against `address`,
    /// like a wrong password, then completes with `error`.
    public func countSignInFailure(address: String, _ error: AttendanceError, completion: @escaping (AttendanceError) -> Void) {
        finish(Result<Void, AttendanceError>.failure(error), address: address, countIf: true) { _ in completion(error) }
    }

    /// Starts a refresh-token session for a school account the provider vouched for.
    public func startSSOSession(id: String, role: Role, name: String,
                                completion: @escaping (Result<(UserAccount, RefreshSession), AttendanceError>) -> Void) {
        let account = UserAccount(id: id, role: role, name: name, disabled: false)
        startSession(userId: id, account: account) { completion($0.map { (account, $0) }) }
    }
}
