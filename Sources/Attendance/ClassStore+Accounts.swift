import RedisClient

/// A local teacher or admin account (`attendance user add`).
public struct UserAccount: Sendable, Equatable {
    public let id: String
    public let role: Role
    public let name: String
    public let disabled: Bool
}

/// A refresh session: the cookie value `<family>.<token>` (family: 16 random bytes, token: 32, both
/// base64url). Only the token's SHA-256 is stored; the family id, not secret on its own, names the
/// Redis key so the cookie finds its family without an index.
public struct RefreshSession: Sendable, Equatable {
    public let cookieValue: String
    public let maxAgeS: Int
}

extension ClassStore {
    /// A refresh family lives this long after its last use (a teacher who teaches weekly stays signed in).
    public static let refreshIdleS = 30 * 86_400
    /// A school-account session ends this long after its sign-in, so someone the school removed from
    /// its provider (or from the teachers' group) is out within a school day; signing in again is
    /// usually one redirect while the provider's own session lasts.
    public static let ssoSessionMaxS = 12 * 3600
    /// Password hashes running at once (each ~0.1 s and 32 MiB on the loop's thread pool); beyond it
    /// a login answers 503 rather than queue unbounded memory and latency.
    static let maxHashesInFlight = 8

    // MARK: - Accounts

    /// Stores a new account; `conflict` when the id exists. `passwordHash` comes from PasswordHash.make.
    public func addUser(id: String, role: Role, name: String, passwordHash: String,
                        completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        guard Identifier.isValid(id) else { return completion(.failure(.badRequest("id must be 1–64 characters of A-Z a-z 0-9 _ . : -"))) }
        guard role != .student else { return completion(.failure(.badRequest("role must be teacher or admin"))) }
        guard (1...CreateClassRequest.nameLength.upperBound).contains(name.count),
              Self.isCleanText(name, maxCharacters: CreateClassRequest.nameLength.upperBound)
        else { return completion(.failure(.badRequest(Self.cleanTextRule("name", maxCharacters: CreateClassRequest.nameLength.upperBound, minCharacters: 1)))) }
        redis.evalScript(Self.addUserScript, keys: [Keys.user(id)], args: [role.rawValue, name, passwordHash, String(clock())]) { [logger] result in
            completion(Self.map(result, logger: logger) { $0.int }.flatMap { added in
                added == 1 ? .success(()) : .failure(.conflict("User \(id) already exists"))
            })
        }
    }

    /// Marks an account disabled: its logins and refreshes fail from now on; access tokens already
    /// issued run out within their 15 minutes. `notFound` when there is no such account.
    public func disableUser(id: String, completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        guard Identifier.isValid(id) else { return completion(.failure(.notFound("No such user"))) }
        redis.evalScript(Self.disableUserScript, keys: [Keys.user(id)], args: [String]()) { [logger] result in
            completion(Self.map(result, logger: logger) { $0.int }.flatMap { found in
                found == 1 ? .success(()) : .failure(.notFound("No such user"))
            })
        }
    }

    /// The account under `id`, nil when there is none (or its record is damaged).
    public func user(id: String, completion: @escaping (Result<(account: UserAccount, passwordHash: String)?, AttendanceError>) -> Void) {
        guard Identifier.isValid(id) else { return completion(.success(nil)) }
        redis.send(["HMGET", Keys.user(id), "role", "name", "pw", "disabled"]) { [logger] result in
            completion(Self.map(result, logger: logger) { value in
                guard let f = value.array, f.count == 4 else { return nil }
                guard let roleText = f[0].text, let role = Role(rawValue: roleText), role != .student,
                      let name = f[1].text, let hash = f[2].text
                else { return .some(nil) }
                return (UserAccount(id: id, role: role, name: name, disabled: f[3].text == "1"), hash)
            })
        }
    }

    // MARK: - Login

    /// Checks `password` for `id`. Every refusal is `unauthorized`, whether the id is unknown, the
    /// password wrong or the account disabled, and each costs one scrypt hash (a dummy one when the
    /// account does not exist) so neither the answer nor its timing tells which. Failures count
    /// against the address (`limits.failuresPerAddress`) and the account
    /// (`limits.loginFailuresPerAccount`); over either limit every attempt answers `rate_limited`.
    public func login(id: String, password: String, address: String,
                      completion: @escaping (Result<(UserAccount, RefreshSession), AttendanceError>) -> Void) {
        guard hashesInFlight < Self.maxHashesInFlight else { return completion(.failure(.unavailable)) }
        gated(address: address, { done in self.checkAccountFailures(id: id, done) }) { gate in
            switch gate {
            case .failure(let error): return completion(.failure(error))
            case .success(let refusal?): return completion(.failure(refusal))
            case .success(nil): break
            }
            self.user(id: id) { found in
                guard case .success(let found) = found else {
                    if case .failure(let error) = found { completion(.failure(error)) }
                    return
                }
                // Checked again here: logins that passed the first check may have piled up meanwhile.
                guard self.hashesInFlight < Self.maxHashesInFlight else { return completion(.failure(.unavailable)) }
                self.hashesInFlight += 1
                let stored = found?.passwordHash ?? PasswordHash.dummy
                self.redis.loop.offload({ PasswordHash.verify(password, stored: stored) }) { matches in
                    self.hashesInFlight -= 1
                    guard matches, let account = found?.account, !account.disabled else {
                        return self.countLoginFailure(id: id, address: address, completion)
                    }
                    self.startSession(userId: account.id) { completion($0.map { (account, $0) }) }
                }
            }
        }
    }

    /// `rate_limited` while the account is over its failure limit, else nil (also when Redis fails:
    /// the address gate and the hash cost still hold).
    private func checkAccountFailures(id: String, _ done: @escaping (AttendanceError?) -> Void) {
        guard let limit = limits.loginFailuresPerAccount, Identifier.isValid(id) else { return done(nil) }
        redis.evalScript(Self.failurePeekScript, keys: [Keys.loginFailures(id)], args: [String]()) { result in
            guard case .success(let value) = result, let f = value.array, f.count == 2, let count = f[0].int, let ttl = f[1].int,
                  count >= Int64(limit)
            else { return done(nil) }
            done(.rateLimited(retryAfterS: Self.retryAfterS(ttlMs: ttl)))
        }
    }

    private func countLoginFailure<T>(id: String, address: String, _ completion: @escaping (Result<T, AttendanceError>) -> Void) {
        if limits.loginFailuresPerAccount != nil, Identifier.isValid(id) {
            let windowMs = max(limits.loginFailureWindowS, 1) * 1000
            redis.evalScript(Self.rateLimitScript, keys: [Keys.loginFailures(id)], args: [String(windowMs)]) { _ in }
        }
        finish(.failure(.unauthorized), address: address, countIf: true, completion)
    }

    // MARK: - Refresh sessions

    /// Starts a refresh family for `userId`. A school-account sign-in passes its `account`: its role
    /// and name are kept in the family, since no local account holds them.
    func startSession(userId: String, account: UserAccount? = nil, completion: @escaping (Result<RefreshSession, AttendanceError>) -> Void) {
        let family = Base64URL.encode(Crypto.randomBytes(16))
        let token = Crypto.randomBytes(32)
        let key = Keys.session(family: family)
        let ttlMs = String((account == nil ? Self.refreshIdleS : Self.ssoSessionMaxS) * 1000)
        var fields = ["HSET", key, "user", userId, "cur", Self.tokenHash(token), "created_ms", String(clock())]
        if let account { fields += ["role", account.role.rawValue, "name", account.name] }
        redis.send(fields) { [logger] result in
            if case .failure(let error) = result { return completion(.failure(AttendanceError(redis: error))) }
            self.redis.send(["PEXPIRE", key, ttlMs]) { expired in
                // A family without expiry would live forever; drop it rather than hand it out.
                if case .failure(let error) = expired {
                    logger.warning("could not set a session's expiry", metadata: ["error": "\(error)"])
                    self.redis.send(["DEL", key]) { _ in }
                    return completion(.failure(AttendanceError(redis: error)))
                }
                completion(.success(RefreshSession(cookieValue: family + "." + Base64URL.encode(token),
                                                   maxAgeS: account == nil ? Self.refreshIdleS : Self.ssoSessionMaxS)))
            }
        }
    }

    /// Rotates the session of `cookieValue`: the presented token stops working and a new one of the
    /// same family is returned, with the (enabled) account. A token that is not the family's current
    /// one revokes the family. Every refusal is `unauthorized`.
    public func refresh(cookieValue: String, completion: @escaping (Result<(UserAccount, RefreshSession), AttendanceError>) -> Void) {
        guard let (family, token) = Self.parseCookie(cookieValue) else { return completion(.failure(.unauthorized)) }
        let next = Crypto.randomBytes(32)
        let key = Keys.session(family: family)
        redis.evalScript(Self.rotateScript, keys: [key], args: [Self.tokenHash(token), Self.tokenHash(next), String(Self.refreshIdleS * 1000),
                                                                String(Self.ssoSessionMaxS * 1000)]) { [logger] result in
            let rotated = Self.map(result, logger: logger) { value -> RotatedFamily?? in
                guard let f = value.array, let status = f.first?.text else { return nil }
                if status == "ok", f.count == 5, let user = f[1].text, let role = f[2].text, let name = f[3].text,
                   let created = f[4].text.flatMap({ Int64($0) }) {
                    return .some(RotatedFamily(user: user, ssoRole: Role(rawValue: role), name: name, createdMs: created))
                }
                if status == "reused" { logger.notice("a used refresh token came back; its session family is revoked", metadata: ["family": "\(family)"]) }
                return .some(nil)
            }
            switch rotated {
            case .failure(let error): return completion(.failure(error))
            case .success(nil): return completion(.failure(.unauthorized))
            case .success(let rotated?) where rotated.ssoRole != nil:
                // A school-account session: its identity was checked by the provider at sign-in and
                // is checked there again once `ssoSessionMaxS` has passed.
                let leftMs = rotated.createdMs + Int64(Self.ssoSessionMaxS) * 1000 - self.clock()
                guard leftMs > 0, let role = rotated.ssoRole else {
                    self.redis.send(["DEL", key]) { _ in }
                    return completion(.failure(.unauthorized))
                }
                let account = UserAccount(id: rotated.user, role: role, name: rotated.name, disabled: false)
                let session = RefreshSession(cookieValue: family + "." + Base64URL.encode(next), maxAgeS: Int(leftMs / 1000))
                completion(.success((account, session)))
            case .success(let rotated?):
                let userId = rotated.user
                self.user(id: userId) { found in
                    switch found {
                    case .failure(let error): completion(.failure(error))
                    case .success(let found):
                        guard let account = found?.account, !account.disabled else {
                            self.redis.send(["DEL", key]) { _ in }
                            return completion(.failure(.unauthorized))
                        }
                        completion(.success((account, RefreshSession(cookieValue: family + "." + Base64URL.encode(next), maxAgeS: Self.refreshIdleS))))
                    }
                }
            }
        }
    }

    /// Revokes the family of `cookieValue` (whichever of its tokens it holds). Succeeds for any
    /// cookie, so logging out twice is harmless.
    public func logout(cookieValue: String, completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        guard let (family, _) = Self.parseCookie(cookieValue) else { return completion(.success(())) }
        redis.send(["DEL", Keys.session(family: family)]) { [logger] result in
            completion(Self.map(result, logger: logger) { _ in () })
        }
    }

    /// What a rotation returns: the family's user, and for a school-account session its role and name.
    private struct RotatedFamily {
        let user: String
        let ssoRole: Role?
        let name: String
        let createdMs: Int64
    }

    static func tokenHash(_ token: [UInt8]) -> String {
        Crypto.sha256(token).map { String($0, radix: 16).leftPadded() }.joined()
    }

    /// `<family>.<token>` with a 16-byte family and a 32-byte token, else nil.
    static func parseCookie(_ value: String) -> (family: String, token: [UInt8])? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 22, parts[1].utf8.count == 43,
              let family = Base64URL.decode(parts[0]), family.count == 16,
              let token = Base64URL.decode(parts[1]), token.count == 32
        else { return nil }
        return (String(parts[0]), token)
    }
}

private extension String {
    func leftPadded() -> String { count == 1 ? "0" + self : self }
}
