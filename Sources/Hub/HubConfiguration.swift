import Attendance
import EventLoop
import RedisClient

/// Everything a hub process needs, resolved by the command line (flag > env > config file > default).
public struct HubConfiguration: Sendable {
    public var listen: SocketAddress
    public var redis: RedisConfiguration
    /// Event loops (threads) sharing the listen port through SO_REUSEPORT; one per core is the norm.
    public var workers: Int
    /// SO_REUSEPORT even with one worker, so several hub processes can listen on one address (the
    /// kernel spreads connections; when one process dies the others keep accepting).
    public var reusePort = false
    public var signer: TokenSigner
    public var qrKey: [UInt8]
    /// A client whose unsent bytes pass this is closed with 1013: a phone that stopped reading must
    /// not grow the hub's memory. 1 MiB holds thousands of events, far beyond a brief stall.
    public var maxQueuedBytes: Int = 1 << 20
    /// PROTOCOL.md: ping idle clients every 25 s, drop one that misses two.
    public var pingIntervalMs: UInt64 = 25_000
    /// How often idle connections are checked; a fraction of the ping interval keeps it accurate.
    public var sweepIntervalMs: UInt64 = 1_000
    /// Subscriptions one connection may hold: a dashboard watches a few classes, not thousands.
    public var maxSubscriptionsPerConnection = 64

    public init(listen: SocketAddress, redis: RedisConfiguration, workers: Int, signer: TokenSigner, qrKey: [UInt8]) {
        self.listen = listen
        self.redis = redis
        self.workers = workers
        self.signer = signer
        self.qrKey = qrKey
    }
}
