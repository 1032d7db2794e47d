import Attendance
import EventLoop
import Glibc
import HTTP
import Logging
import RedisClient

/// An `attendance api` process on one event loop: the HTTP server, one Redis connection, the
/// ClassStore, and the timer that closes classes at the end of their duration. One loop is plenty:
/// every request is a Redis round trip or two, and the hub takes the heavy traffic.
public final class APIServer {
    public let loop: EventLoop
    public let configuration: APIConfiguration
    let logger: Logger
    let redis: RedisClient
    let store: ClassStore
    let metrics = APIMetrics()
    let clock: () -> Int64
    private var server: HTTPServer?
    private var handlers: APIHandlers?
    private var sweepTimer: LoopTimer?
    /// True while a close or purge sweep runs: one at a time per process.
    var sweeping = false
    private var signals: [SignalWatcher] = []
    private var drainTimer: LoopTimer?
    /// Delivers absence webhooks (APIServer+School.swift); nil without webhook URLs.
    var webhookDeliverer: WebhookDeliverer?
    /// True once `shutdown()` was called.
    public private(set) var isShuttingDown = false
    /// True once the shutdown has closed Redis: nothing is left for the loop but closing sockets.
    public private(set) var hasStopped = false

    /// Longest public URL accepted: the QR code must hold it plus a token (level M fits 2331 bytes).
    static let maxPublicURLLength = 1024

    /// - Parameter clock: wall-clock milliseconds for tokens, QR windows, check-in times and the
    ///   sweep; tests pass their own to place requests on window edges.
    public init(configuration: APIConfiguration, loop: EventLoop, logger: Logger,
                clock: @escaping () -> Int64 = { EventLoop.wallClockMs() }) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        redis = RedisClient(loop: loop, configuration: configuration.redis, logger: logger)
        store = ClassStore(redis: redis, signer: configuration.signer, qrKey: configuration.qrKey, logger: logger, clock: clock)
        store.limits = configuration.limits
    }

    /// Binds the listen address and starts connecting to Redis (requests answer 503 `unavailable`
    /// until it is up). With `handleSignals`, SIGINT and SIGTERM start a graceful shutdown.
    public func start(handleSignals: Bool = true) throws {
        if let url = configuration.publicURL {
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.utf8.count <= Self.maxPublicURLLength else {
                throw APIServerError(description: "public URL must start with http:// or https:// and be at most \(Self.maxPublicURLLength) bytes")
            }
        }
        var httpConfiguration = HTTPServerConfiguration()
        httpConfiguration.limits.maxBodyBytes = configuration.maxBodyBytes
        var dispatch: ((HTTPRequest, HTTPResponder) -> Void)?
        let server = try HTTPServer(loop: loop, address: configuration.listen, configuration: httpConfiguration,
                                    logger: logger) { request, responder in dispatch?(request, responder) }
        self.server = server
        let handlers = APIHandlers(store: store, configuration: configuration, metrics: metrics,
                                   publicBase: configuration.publicBase(bound: server.address), clock: clock, logger: logger)
        self.handlers = handlers
        // The server holds the handlers (not the other way round), so a request that finishes after
        // this object is gone is still answered.
        dispatch = { request, responder in handlers.handle(request, responder) }
        try startSchoolWork()
        redis.connect()

        let sweep = LoopTimer(loop: loop)
        // Timers hold their callbacks until closed; a callback that outlives the server closes its timer.
        sweep.start(timeoutMs: configuration.sweepIntervalMs, repeatMs: configuration.sweepIntervalMs) { [weak self, unowned sweep] in
            guard let self else { return sweep.close() }
            self.sweepExpiredClasses()
        }
        sweep.unref()
        sweepTimer = sweep
        if handleSignals {
            for signal in [SIGINT, SIGTERM] {
                signals.append(try SignalWatcher(loop: loop, signal: signal) { [weak self] _ in self?.shutdown() })
            }
        }
        logger.info("api listening on \(server.address); links and QR codes use \(handlers.publicBase)")
    }

    /// The bound address (with the real port when the configuration asked for port 0).
    public var address: SocketAddress? { server?.address }

    /// The base of join links and QR URLs.
    public var publicBase: String? { handlers?.publicBase }

    /// Closes classes whose duration has passed. Runs one sweep at a time; a full batch means more
    /// may be due, so it goes on at once.
    func sweepExpiredClasses() {
        guard !sweeping, !isShuttingDown, redis.isConnected else { return }
        retryStaleAfterClose()
        sweeping = true
        store.sweepExpiredClasses(nowMs: clock()) { [weak self] result in
            guard let self else { return }
            self.sweeping = false
            switch result {
            case .success(let closed):
                if !closed.isEmpty {
                    self.metrics.classesSwept += closed.count
                    self.logger.info("closed \(closed.count) class(es) at the end of their duration", metadata: ["class_ids": "\(closed)"])
                }
                if closed.count >= ClassStore.sweepBatch { self.sweepExpiredClasses() } else { self.purgeRetainedClasses() }
            case .failure(let error):
                self.logger.warning("auto-close sweep failed: \(error.message)")
            }
        }
    }

    /// Stops accepting, lets requests in flight finish (up to `shutdownGraceMs`), then closes Redis,
    /// after which the loop has nothing left and `loop.run()` returns.
    public func shutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        logger.info("api shutting down")
        server?.close()
        sweepTimer?.close()
        sweepTimer = nil
        webhookDeliverer?.stop()
        for signal in signals { signal.close() }
        signals = []
        let started = loop.nowMs
        let drain = LoopTimer(loop: loop)
        drainTimer = drain
        drain.start(timeoutMs: 0, repeatMs: 20) { [weak self, unowned drain] in
            guard let self else { return drain.close() }
            let idle = (self.server?.openConnections ?? 0) == 0
            guard idle || self.loop.nowMs - started >= self.configuration.shutdownGraceMs else { return }
            self.drainTimer?.close()
            self.drainTimer = nil
            // Closing Redis fails whatever still waits on it, which answers and closes those
            // connections; a client that never finishes its request is cut by the header timeout.
            self.redis.close()
            self.hasStopped = true
            if !idle { self.logger.warning("shutdown grace passed with \(self.server?.openConnections ?? 0) connection(s) open") }
        }
    }

    /// Runs an API process on the calling thread until SIGINT or SIGTERM.
    public static func run(_ configuration: APIConfiguration, logger: Logger) throws {
        EventLoop.raiseOpenFileLimit()
        let loop = try EventLoop()
        let server = APIServer(configuration: configuration, loop: loop, logger: logger)
        try server.start()
        loop.run()
        logger.info("api stopped")
    }
}

@available(*, unavailable)
extension APIServer: Sendable {}

public struct APIServerError: Error, CustomStringConvertible {
    public let description: String
}
