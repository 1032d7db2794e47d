import RedisClient

extension ClassStore {
    /// Counts one attempt in a fixed window shared by every process using this Redis, under
    /// `att:rl:<scope>:<key>`. Allowed while the count is at most `limit`; otherwise reports the seconds
    /// until the window resets (for `Retry-After`). Example: `scope: "create", key: teacherId`.
    public func rateLimit(scope: String, key: String, limit: Int, windowS: Int,
                          completion: @escaping (Result<RateLimitDecision, AttendanceError>) -> Void) {
        let windowMs = max(windowS, 1) * 1000
        redis.evalScript(Self.rateLimitScript, keys: [Keys.rateLimit(scope: scope, key: key)], args: [String(windowMs)]) { [logger] result in
            completion(Self.map(result, logger: logger) { value -> RateLimitDecision? in
                guard let fields = value.array, fields.count == 2, let count = fields[0].int, let ttlMs = fields[1].int
                else { return nil }
                if count <= Int64(limit) { return RateLimitDecision(allowed: true, retryAfterS: 0) }
                return RateLimitDecision(allowed: false, retryAfterS: Self.retryAfterS(ttlMs: ttlMs))
            })
        }
    }

    /// Whether a refused join or check-in counts against its source address: the refusals a guesser
    /// collects (wrong codes, bad or expired QR and link tokens, students not on the roster). Bad
    /// input (`bad_request` on a field), a closed class or a full one are not guesses.
    static func countsAsFailure(_ error: AttendanceError) -> Bool {
        switch error {
        case .codeInvalid, .qrInvalid, .qrExpired, .notOnRoster, .deviceInvalid: true
        case .badRequest(let detail): detail == JoinLink.invalidMessage
        default: false
        }
    }

    /// Runs `work` and the failure check of `address` side by side (their Redis commands share a
    /// round trip) and hands `work`'s value on only when the address is not over its failure limit.
    /// `work` must not write: its value is thrown away when the check refuses.
    func gated<T>(address: String, _ work: (@escaping (T) -> Void) -> Void,
                  then next: @escaping (Result<T, AttendanceError>) -> Void) {
        var refusal: AttendanceError??
        var value: T?
        func finish() {
            guard let refusal, let value else { return }
            if let refusal { return next(.failure(refusal)) }
            next(.success(value))
        }
        checkFailures(address: address) { refusal = .some($0); finish() }
        work { value = $0; finish() }
    }

    /// `rate_limited` while `address` has failed `limits.failuresPerAddress` times in the current
    /// window — even for an attempt that would succeed, or the guessing would simply go on — else nil.
    func checkFailures(address: String, completion: @escaping (AttendanceError?) -> Void) {
        guard let limit = limits.failuresPerAddress else { return completion(nil) }
        redis.evalScript(Self.failurePeekScript, keys: [Keys.failures(address: address)], args: [String]()) { [logger] result in
            let decoded = Self.map(result, logger: logger) { value -> (count: Int64, ttlMs: Int64)? in
                guard let fields = value.array, fields.count == 2, let count = fields[0].int, let ttl = fields[1].int
                else { return nil }
                return (count, ttl)
            }
            switch decoded {
            case .failure(let error): completion(error)
            case .success(let found) where found.count >= Int64(limit):
                completion(.rateLimited(retryAfterS: Self.retryAfterS(ttlMs: found.ttlMs)))
            case .success: completion(nil)
            }
        }
    }

    /// Completes with `result`, after counting it against `address` when it is a failure that
    /// `countsAsFailure` names. A success never resets the count.
    func finish<T>(_ result: Result<T, AttendanceError>, address: String, countIf counts: Bool? = nil,
                   _ completion: @escaping (Result<T, AttendanceError>) -> Void) {
        guard case .failure(let error) = result, limits.failuresPerAddress != nil,
              counts ?? Self.countsAsFailure(error)
        else { return completion(result) }
        let windowMs = max(limits.failureWindowS, 1) * 1000
        redis.evalScript(Self.rateLimitScript, keys: [Keys.failures(address: address)], args: [String(windowMs)]) { [logger] counted in
            if case .failure(let redisError) = counted {
                logger.warning("could not count a failed attempt", metadata: ["error": "\(redisError)"])
            }
            completion(result)
        }
    }

    /// Whole seconds for `Retry-After`, at least 1.
    static func retryAfterS(ttlMs: Int64) -> Int { Int(max(1, (ttlMs + 999) / 1000)) }
}
