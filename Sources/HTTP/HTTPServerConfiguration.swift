import EventLoop

/// How an HTTPServer listens, bounds requests and times out slow or idle clients.
public struct HTTPServerConfiguration: Sendable {
    public var limits: HTTPLimits
    /// A request (head and body) must arrive within this time of its first byte, and the first request
    /// within this time of the accept; otherwise 408 and close. Defeats slowloris without a timer per
    /// connection: one sweep per server checks every connection.
    public var headerTimeoutMs: UInt64
    /// A keep-alive connection with no request in progress is closed after this long, silently.
    public var idleTimeoutMs: UInt64
    /// How often the sweep runs; timeouts are therefore enforced within this granularity.
    public var sweepIntervalMs: UInt64
    /// Lets several loops (one per worker thread) listen on the same address.
    public var reusePort: Bool
    public var backlog: Int32
    /// Caps connections (in total and per address, shared by every server given the same limiter);
    /// beyond a cap a connection is answered 503 with `Retry-After: retryAfterS` and closed.
    public var connectionLimiter: ConnectionLimiter?
    /// A refused client's wait before it tries again: long enough for connections to free up.
    public var retryAfterS = 5

    public init(limits: HTTPLimits = HTTPLimits(), headerTimeoutMs: UInt64 = 10_000, idleTimeoutMs: UInt64 = 60_000,
                sweepIntervalMs: UInt64 = 1_000, reusePort: Bool = false, backlog: Int32 = 4096) {
        self.limits = limits
        self.headerTimeoutMs = headerTimeoutMs
        self.idleTimeoutMs = idleTimeoutMs
        self.sweepIntervalMs = sweepIntervalMs
        self.reusePort = reusePort
        self.backlog = backlog
    }
}
