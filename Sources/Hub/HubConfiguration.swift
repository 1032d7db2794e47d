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
    /// Failure limits for WebSocket check-ins, counted in Redis together with the api's.
    public var limits = StoreLimits()
    /// Reverse proxies whose X-Forwarded-For on the upgrade request names the client; empty: the
    /// header is ignored.
    public var trustedProxies: [CIDR] = []

    /// Live events one room (during a replay) or one subscription (during its snapshot or replay)
    /// holds back; past it they are dropped and read again from the stream. A load takes well under
    /// a second, far fewer events than this; the bound only stops a stalled load growing memory.
    public var maxHeldEvents = 10_000
    /// SIGTERM: how long clients get to answer the 1001 close before they are dropped; the process
    /// exits as soon as all have answered. Well inside the usual 10 s an orchestrator waits.
    public var shutdownGraceMs: UInt64 = 2_000

    /// What one client may ask per second before it is answered `rate_limited` (ClientBudget.swift).
    public var clientBudget = ClientBudgetLimits()
    /// WebSocket and HTTP connections open at once from one address: a whole campus behind one NAT
    /// address (or a TCP load balancer that hides client addresses) fits; one script cannot take every
    /// descriptor of a hub whose open-file limit is raised beyond it.
    public var maxConnectionsPerAddress = 20_000
    /// Connections open at once in total; nil: the open-file limit minus a reserve (`Hub.run`).
    public var maxConnections: Int?
    /// Built by `Hub.run` from the two caps and shared by every worker's listener.
    public var connectionLimiter: ConnectionLimiter?

    public init(listen: SocketAddress, redis: RedisConfiguration, workers: Int, signer: TokenSigner, qrKey: [UInt8]) {
        self.listen = listen
        self.redis = redis
        self.workers = workers
        self.signer = signer
        self.qrKey = qrKey
    }
}
