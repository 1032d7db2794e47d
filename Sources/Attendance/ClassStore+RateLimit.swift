import RedisClient

extension ClassStore {
    /// Counts one attempt in a fixed window shared by every process using this Redis, under
    /// `att:rl:<scope>:<key>`. Allowed while the count is at most `limit`; otherwise reports the seconds
    /// until the window resets (for `Retry-After`). Example: `scope: "join-addr", key: clientAddress`.
    public func rateLimit(scope: String, key: String, limit: Int, windowS: Int,
                          completion: @escaping (Result<RateLimitDecision, AttendanceError>) -> Void) {
        let windowMs = max(windowS, 1) * 1000
        redis.evalScript(Self.rateLimitScript, keys: [Keys.rateLimit(scope: scope, key: key)], args: [String(windowMs)]) { [logger] result in
            completion(Self.map(result, logger: logger) { value -> RateLimitDecision? in
                guard let fields = value.array, fields.count == 2, let count = fields[0].int, let ttlMs = fields[1].int
                else { return nil }
                if count <= Int64(limit) { return RateLimitDecision(allowed: true, retryAfterS: 0) }
                return RateLimitDecision(allowed: false, retryAfterS: Int(max(1, (ttlMs + 999) / 1000)))
            })
        }
    }
}
