import Attendance

extension APIHandlers {
    /// `POST /v1/join` (anyone): `{code | link_token | qr, student_id, name?}` → a student token.
    /// Rate limited per client address, and per code for code joins, before anything else is read
    /// from Redis, so guessing codes costs the guesser its quota whatever the guess.
    func join(_ exchange: Exchange) {
        guard let body = body(exchange, fields: ["code", "link_token", "qr", "student_id", "name"]) else { return }
        let credential: JoinCredential
        let studentId: String
        let name: String?
        do throws(APIError) {
            let given = ["code", "link_token", "qr"].filter(body.has)
            guard given.count == 1 else {
                throw APIError.badRequest("Give exactly one of code, link_token or qr")
            }
            switch given[0] {
            case "code": credential = .code(try body.requiredString("code"))
            case "link_token": credential = .linkToken(try body.requiredString("link_token"))
            default: credential = .qr(try body.requiredString("qr"))
            }
            studentId = try body.requiredIdentifier("student_id")
            name = try body.string("name")
        } catch {
            return exchange.fail(error)
        }
        let address = exchange.clientAddress
        var limits = [RateLimit(scope: "join-addr", key: address, limit: configuration.joinLimitPerAddress)]
        // Only well-formed codes get a counter: malformed ones fail without touching Redis, and the
        // counters stay bounded by the million possible codes.
        if case .code(let code) = credential, JoinCode.isWellFormed(code) {
            limits.append(RateLimit(scope: "join-code", key: code, limit: configuration.joinLimitPerCode))
        }
        checkRateLimits(limits, exchange: exchange) {
            self.store.join(credential, studentId: studentId, name: name, address: address) { result in
                self.reply(exchange, result, ResponseEncoding.joined)
            }
        }
    }

    struct RateLimit {
        let scope: String
        let key: String
        let limit: Int
    }

    /// Counts one attempt against every limit (in one pipelined round trip) and runs `allowed` only
    /// when all of them allow it; otherwise answers 429 with the longest `Retry-After`, or 503 when
    /// Redis cannot count.
    func checkRateLimits(_ limits: [RateLimit], exchange: Exchange, allowed: @escaping () -> Void) {
        var remaining = limits.count
        var retryAfterS = 0
        var failure: AttendanceError?
        for limit in limits {
            store.rateLimit(scope: limit.scope, key: limit.key, limit: limit.limit,
                            windowS: configuration.rateLimitWindowS) { result in
                switch result {
                case .success(let decision) where !decision.allowed:
                    retryAfterS = max(retryAfterS, decision.retryAfterS)
                case .success:
                    break
                case .failure(let error):
                    failure = error
                }
                remaining -= 1
                guard remaining == 0 else { return }
                if let failure { return exchange.fail(APIError(failure)) }
                if retryAfterS > 0 {
                    self.metrics.rateLimited += 1
                    return exchange.fail(APIError(.rateLimited(retryAfterS: retryAfterS)))
                }
                allowed()
            }
        }
    }
}
