import Attendance
import EventLoop
import RedisClient

/// Everything an `attendance api` process needs, resolved by the command line (flag > env > config
/// file > default). Tests and the load tool build one directly and raise the limits they need.
public struct APIConfiguration: Sendable {
    public var listen: SocketAddress
    public var redis: RedisConfiguration
    public var signer: TokenSigner
    public var qrKey: [UInt8]
    /// Scheme, host and port students reach this server at, without a trailing "/": the base of join
    /// links (`<publicURL>/j/<token>`) and of the URL a QR code encodes (`<publicURL>/checkin?qr=…`).
    /// nil means `http://<bound address>`, which only works when students can reach the listen
    /// address itself; behind a proxy or on 0.0.0.0 set it explicitly.
    public var publicURL: String?
    /// The hub WebSocket URL the dashboard page connects to.
    public var hubURL: String = "ws://127.0.0.1:8080/ws"

    /// Request bodies larger than this are refused with 413 before they are read. The largest
    /// legitimate body is a class with a 5000-student roster (~350 KiB); 1 MiB leaves room.
    public var maxBodyBytes = 1 << 20

    /// Failure limits and the size of classes without a roster, enforced by the store for this
    /// process (the hub enforces the same on WebSocket check-ins). Successful joins and check-ins are
    /// not limited: a school behind one NAT address must get in.
    public var limits = StoreLimits()
    /// Reverse proxies whose X-Forwarded-For names the client (`ForwardedFor`); empty: the header
    /// is ignored and the TCP peer is the client.
    public var trustedProxies: [CIDR] = []
    /// Classes one teacher (or admin) may create per `classCreationWindowS`: keeps one account from
    /// filling Redis with classes, far above what a person creates by hand.
    public var classCreationsPerTeacher = 30
    public var classCreationWindowS = 60

    /// Sign-in with a school account (OpenID Connect); nil: only local accounts.
    public var oidc: OIDCSettings?

    /// How often classes past their `duration_s` are closed. State is in Redis, so a class whose end
    /// passed while no process ran is closed by the first sweep after a restart.
    public var sweepIntervalMs: UInt64 = 5_000
    /// Closed classes are purged this many days after they closed (a school year plus time for
    /// appeals), by the same sweep; only each class's audit tombstone remains.
    public var retentionDays = 400
    /// On SIGINT/SIGTERM, requests in flight get this long to finish before the process exits.
    public var shutdownGraceMs: UInt64 = 5_000
    /// Absence webhooks (none unless URLs are set).
    public var webhooks = WebhookSettings()

    public init(listen: SocketAddress, redis: RedisConfiguration, signer: TokenSigner, qrKey: [UInt8],
                publicURL: String? = nil) {
        self.listen = listen
        self.redis = redis
        self.signer = signer
        self.qrKey = qrKey
        self.publicURL = publicURL
    }

    /// The base links are built on, without trailing slashes so `base + "/j/…"` never doubles one.
    func publicBase(bound: SocketAddress) -> String {
        var url = Substring(publicURL ?? "http://\(bound)")
        while url.hasSuffix("/") { url = url.dropLast() }
        return String(url)
    }
}
