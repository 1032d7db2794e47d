/// How much one WebSocket client may ask of the hub (PROTOCOL.md "Per-connection budget").
public struct ClientBudgetLimits: Sendable, Equatable {
    /// Work tokens a connection earns per second. A dashboard subscribes to a few classes and a phone
    /// checks in once, so 200/s (20 subscribes a second, sustained) is far beyond real use.
    public var tokensPerS = 200
    /// Tokens a connection may spend at once: a dashboard opening its 64 allowed subscriptions in one
    /// burst (640) fits, a flood of 5,000 subscribe/unsubscribe pairs gets about 50 of them through.
    public var tokenBurst = 1000
    /// Message bytes a connection may send per second, and at once. Sized so `attendance-load pingpong`
    /// at depth 64 (about 1 MB/s of pings per connection) runs unthrottled; a 64 KiB message still costs
    /// 1/128 of it, so a client cannot make the hub parse megabytes a second on top of its tokens.
    public var bytesPerS = 8 << 20
    /// `rate_limited` replies within `strikeWindowMs` after which the client is closed with 1008: a
    /// client that keeps sending after being told to slow down is abusive, not unlucky.
    public var maxStrikes = 50
    public var strikeWindowMs: UInt64 = 10_000

    public init() {}

    /// What a message costs in tokens. A ping does no work beyond its reply, which the send-queue
    /// limit bounds, so it costs nothing but its bytes: request/reply benchmarks run at full speed.
    /// A subscribe or unsubscribe costs a snapshot script, a SUBSCRIBE or an UNSUBSCRIBE in Redis.
    static func cost(_ type: ClientMessage.Kind?) -> Int {
        switch type {
        case .ping: 0
        case .checkin: 5
        case .subscribe, .unsubscribe: 10
        case .other, nil: 1
        }
    }
}

/// Two token buckets per connection (work tokens, message bytes) refilled from the loop clock, and a
/// count of recent refusals. Plain integers inline in the session: no allocation, no timer, and no
/// copy of the limits (the worker's are passed in at each charge).
struct ClientBudget {
    enum Verdict: Equatable {
        case allowed
        /// Answer `rate_limited`; nothing else is done for the message.
        case refused
        /// Refused too often: close with 1008.
        case abusive
    }

    /// Thousandths of a token and of a byte, so a refill of a few milliseconds is not rounded away
    /// (up to 10^10 and 2^30 × 1000 with the flags' largest limits: 64-bit).
    private var milliTokens: Int
    private var milliBytes: Int
    private var refilledMs: UInt64
    private var strikeWindowStartMs: UInt64 = 0
    /// Refusals in the current window; the connection is closed at `maxStrikes` + 1 (at most
    /// 1,000,001 with the flag's largest value), and the count stops at Int32.max whatever the limit.
    private var strikes: Int32 = 0

    init(limits: ClientBudgetLimits, nowMs: UInt64) {
        milliTokens = limits.tokenBurst * 1000
        milliBytes = limits.bytesPerS * 1000
        refilledMs = nowMs
    }

    // The two charges are on every message's path: inlined, the limits are read in place (as calls,
    // the optimized build copied them to the stack for each one).

    /// Charges a message of `bytes` bytes before it is parsed (the parse is work too).
    @inline(__always)
    mutating func chargeBytes(_ bytes: Int, limits: ClientBudgetLimits, nowMs: UInt64) -> Verdict {
        refill(limits, nowMs: nowMs)
        guard milliBytes >= bytes * 1000 else { return strike(limits, nowMs: nowMs) }
        milliBytes -= bytes * 1000
        return .allowed
    }

    /// Charges a parsed message's tokens before any of its work is done.
    @inline(__always)
    mutating func charge(_ type: ClientMessage.Kind?, limits: ClientBudgetLimits, nowMs: UInt64) -> Verdict {
        let cost = ClientBudgetLimits.cost(type) * 1000
        guard cost > 0 else { return .allowed }
        refill(limits, nowMs: nowMs)
        guard milliTokens >= cost else { return strike(limits, nowMs: nowMs) }
        milliTokens -= cost
        return .allowed
    }

    private mutating func refill(_ limits: ClientBudgetLimits, nowMs: UInt64) {
        guard nowMs > refilledMs else { return }
        // Capped so the products below cannot overflow after a long idle time.
        let elapsed = Int(min(nowMs - refilledMs, 3_600_000))
        refilledMs = nowMs
        milliTokens = min(milliTokens + elapsed * limits.tokensPerS, limits.tokenBurst * 1000)
        milliBytes = min(milliBytes + elapsed * limits.bytesPerS, limits.bytesPerS * 1000)
    }

    private mutating func strike(_ limits: ClientBudgetLimits, nowMs: UInt64) -> Verdict {
        if nowMs >= strikeWindowStartMs + limits.strikeWindowMs {
            strikeWindowStartMs = nowMs
            strikes = 0
        }
        if strikes < .max { strikes += 1 }
        return Int(strikes) > limits.maxStrikes ? .abusive : .refused
    }
}
