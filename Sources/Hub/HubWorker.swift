import Attendance
import EventLoop
import HTTP
import JSON
import Logging
import RedisClient
import WebSocket
import Glibc

/// One event loop of the hub: its listening socket (shared with the other workers through
/// SO_REUSEPORT), its Redis connections, its rooms and its sessions. Nothing here is shared
/// between threads except the metrics.
final class HubWorker {
    let loop: EventLoop
    let configuration: HubConfiguration
    let metrics: HubMetrics
    /// Every worker's metrics, summed by /metrics.
    let allMetrics: [HubMetrics]
    var logger: Logger
    let redis: RedisClient
    let subscriber: RedisSubscriber
    let store: ClassStore
    /// Limits and scratch buffer shared by every WebSocket of this loop.
    let websocketSettings: WebSocketServerSettings
    /// Replies are built here one at a time (the loop is single-threaded), so no reply allocates.
    var writer = JSONWriter(capacity: 4096)
    let registry: RoomRegistry
    let qr: QRRotator
    let replayer: Replayer
    /// Shared by every session of this worker (created with the first one: it refers back to the worker).
    private lazy var sessionContext = SessionContext(worker: self, metrics: metrics, budgetLimits: configuration.clientBudget)
    private var server: HTTPServer?
    /// Every open session. Each knows its index (`sessionIndex`), so a close is a swap-remove: 8–16
    /// bytes a session (array growth), where a dictionary by ObjectIdentifier took 21–43.
    private(set) var sessions: [ClientSession] = []
    private let rejected = RejectedConnections()
    private var sweepTimer: LoopTimer?
    private var flushCheck: LoopCheck?
    private var signals: [SignalWatcher] = []
    private(set) var isShuttingDown = false
    private var reportedReconnects = 0

    init(configuration: HubConfiguration, metrics: HubMetrics, allMetrics: [HubMetrics], logger: Logger) throws {
        loop = try EventLoop()
        self.configuration = configuration
        self.metrics = metrics
        self.allMetrics = allMetrics
        self.logger = logger
        redis = RedisClient(loop: loop, configuration: configuration.redis, logger: logger)
        subscriber = RedisSubscriber(loop: loop, configuration: configuration.redis, logger: logger)
        store = ClassStore(redis: redis, signer: configuration.signer, qrKey: configuration.qrKey, logger: logger)
        store.limits = configuration.limits
        registry = RoomRegistry(subscriber: subscriber, metrics: metrics, maxHeldEvents: configuration.maxHeldEvents)
        qr = QRRotator(loop: loop, store: store, registry: registry, qrKey: configuration.qrKey)
        websocketSettings = WebSocketServerSettings(maxQueuedBytes: configuration.maxQueuedBytes)
        replayer = Replayer(loop: loop, metrics: metrics, store: store, registry: registry, qr: qr, configuration: configuration, logger: logger)
    }

    /// Starts listening and connecting; `run()` then serves until shutdown.
    func start(handleSignals: Bool = true) throws {
        subscriber.onMessage = { [unowned self] channel, payload in self.received(channel: channel, payload: payload) }
        subscriber.onResubscribed = { [unowned self] in self.resubscribed() }
        redis.connect()
        subscriber.connect()

        let router = Router()
        router.add("GET", "/healthz") { [unowned self] _, _, responder in self.health(responder) }
        router.add("GET", "/metrics") { [unowned self] _, _, responder in
            responder.send(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                                        body: Array((HubMetrics.prometheusText(self.allMetrics) + HubMetrics.prometheusText(self.configuration.connectionLimiter)).utf8)))
        }
        router.add("GET", "/ws") { _, _, responder in
            // Reached only when the request was not an upgrade.
            responder.send(HTTPResponse.error(426, code: "bad_request", message: "GET /ws needs a WebSocket upgrade")
                .adding("Sec-WebSocket-Version", "13"))
        }
        var http = HTTPServerConfiguration()
        http.reusePort = configuration.reusePort || configuration.workers > 1
        http.connectionLimiter = configuration.connectionLimiter
        server = try HTTPServer(loop: loop, address: configuration.listen, configuration: http, logger: logger,
                                upgradeHandler: { [unowned self] request, connection, leftover in
                                    self.upgrade(request, connection: connection, leftover: leftover)
                                }, handler: { router.handle($0, $1) })

        flushCheck = LoopCheck(loop: loop) { [unowned self] in self.registry.flush() }
        let sweep = LoopTimer(loop: loop)
        sweep.start(timeoutMs: configuration.sweepIntervalMs, repeatMs: configuration.sweepIntervalMs) { [unowned self] in self.sweep() }
        sweep.unref()
        sweepTimer = sweep
        if handleSignals {
            for signal in [SIGINT, SIGTERM] {
                signals.append(try SignalWatcher(loop: loop, signal: signal) { [unowned self] _ in self.shutdown() })
            }
        }
    }

    func run() { loop.run() }

    /// The bound address (the real port when configured with port 0).
    var listeningAddress: SocketAddress? { server?.address }

    // MARK: HTTP

    private func health(_ responder: HTTPResponder) {
        // Healthy, not merely connected: a stalled Redis turns this 503 within a few seconds.
        let up = redis.isHealthy && subscriber.isHealthy
        let body = up ? #"{"status":"ok","redis":"ok"}"# : #"{"status":"unavailable","redis":"down"}"#
        responder.send(HTTPResponse(status: up ? 200 : 503, headers: [("Content-Type", "application/json")], body: Array(body.utf8)))
    }

    /// Takes over an upgrade request on /ws. Always returns true for /ws: the socket is ours then,
    /// answered with 101 or a 400/426 rejection.
    private func upgrade(_ request: HTTPRequest, connection: TCPConnection, leftover: [UInt8]) -> Bool {
        guard request.path == "/ws" else { return false }
        if isShuttingDown {
            connection.write(HTTPResponse.error(503, code: "unavailable", message: "the hub is shutting down").serialize())
            connection.shutdown()
            return true
        }
        let headers = request.headers
        switch WebSocketHandshake.validateServerRequest(method: request.method, header: { headers[$0] }) {
        case .failure(let error):
            connection.write(WebSocketHandshake.rejectionBytes(for: error))
            connection.shutdown()
            return true
        case .success(let accept):
            connection.write(WebSocketHandshake.responseBytes(accept: accept))
        }
        let websocket = WebSocketConnection(connection: connection, settings: websocketSettings, delegate: nil)
        // Browsers cannot set headers on a WebSocket, so the token comes in the query (PROTOCOL.md).
        let token = request.query("access_token") ?? ""
        switch configuration.signer.verify(token, nowS: EventLoop.wallClockMs() / 1000) {
        case .failure(let error):
            metrics.authFailures.add(1, ordering: .relaxed)
            websocket.delegate = rejected
            rejected.connections[ObjectIdentifier(websocket)] = websocket
            websocket.start(leftover: [])
            websocket.close(code: WebSocketCloseCode.policyViolation, reason: token.isEmpty ? "missing access_token" : "invalid access token: \(error)")
            return true
        case .success(let claims):
            let address = ForwardedFor.clientAddress(peer: connection.peerAddress?.host ?? "",
                                                     headerValues: headers.values(for: "X-Forwarded-For"),
                                                     trusted: configuration.trustedProxies)
            let session = ClientSession(connection: websocket, context: sessionContext, actor: Actor(claims: claims),
                                        address: address, tokenExpiresS: claims.exp)
            websocket.delegate = session
            session.sessionIndex = UInt32(sessions.count)
            sessions.append(session)
            metrics.connectionsOpen.add(1, ordering: .relaxed)
            metrics.connectionsTotal.add(1, ordering: .relaxed)
            websocket.start(leftover: leftover)
            return true
        }
    }

    func sessionClosed(_ session: ClientSession) {
        let index = Int(session.sessionIndex)
        guard index < sessions.count, sessions[index] === session else { return }
        let last = sessions.removeLast()
        if index < sessions.count {
            sessions[index] = last
            last.sessionIndex = UInt32(index)
        }
        metrics.connectionsOpen.add(-1, ordering: .relaxed)
        for classId in Array(session.subscriptions.keys) { unsubscribe(session, classId: classId) }
        if isShuttingDown && sessions.isEmpty { finishShutdown() }
    }

    // MARK: Redis

    /// A pub/sub message: parse its header once, frame it once, hand the frame to the room.
    func received(channel: String, payload: UnsafeRawBufferPointer) {
        guard let room = registry.room(onChannel: channel) else { return }
        guard let event = ClassEvent.stored(payload) else {
            logger.warning("ignoring a malformed event on \(channel)")
            return
        }
        metrics.eventsReceived.add(1, ordering: .relaxed)
        room.dispatch(event)
        if event.isClassClosed { room.stopQR() }
        let now = EventLoop.wallClockMs()
        if let offset = event.offset, now >= Int64(offset.ms) {
            metrics.eventAge.record(micros: Int(now - Int64(offset.ms)) * 1000)
        }
    }

    private func resubscribed() {
        metrics.redisReconnects.add(subscriber.reconnects + redis.reconnects - reportedReconnects, ordering: .relaxed)
        reportedReconnects = subscriber.reconnects + redis.reconnects
        replayer.replayRoomsAfterReconnect()
    }

    // MARK: housekeeping

    /// Once a second: ping idle clients, drop those that missed two pings, finish overdue closes,
    /// and close sessions whose access token expired.
    private func sweep() {
        let now = loop.nowMs
        let nowS = EventLoop.wallClockMs() / 1000
        for connection in Array(rejected.connections.values) { connection.abortIfCloseDeadlinePassed(nowMs: now) }
        for session in sessions {
            let ws = session.connection
            if ws.abortIfCloseDeadlinePassed(nowMs: now) { continue }
            guard ws.isOpen else { continue }
            if Int64(session.tokenExpiresS) <= nowS {
                ws.close(code: WebSocketCloseCode.policyViolation, reason: "access token expired")
                continue
            }
            let quietSince = max(ws.lastReceivedMs, ws.lastPingMs)
            guard now >= quietSince + configuration.pingIntervalMs else { continue }
            if ws.unansweredPings >= 2 {
                ws.abort(code: WebSocketCloseCode.goingAway, reason: "missed two pings")
            } else {
                ws.sendPing()
            }
        }
    }

    /// SIGINT/SIGTERM: stop accepting, close every WebSocket with 1001 (after what is queued), and
    /// end the loop once every client has answered, or when the grace period is over.
    func shutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        logger.info("shutting down: closing \(sessions.count) connections")
        server?.close()
        for connection in Array(rejected.connections.values) { connection.abort() }
        for session in sessions { session.connection.close(code: WebSocketCloseCode.goingAway, reason: "server shutting down") }
        if sessions.isEmpty { finishShutdown(); return }
        // Peers that do not answer the close frame are dropped after a grace period.
        let grace = LoopTimer(loop: loop)
        graceTimer = grace
        grace.start(timeoutMs: configuration.shutdownGraceMs) { [weak self] in
            guard let self else { return }
            for session in self.sessions { session.connection.abort(code: WebSocketCloseCode.goingAway, reason: "server shutting down") }
            self.finishShutdown()
        }
    }

    private(set) var finished = false
    /// Armed while closing connections; closed when the last one is gone, so it does not hold the
    /// loop (and the process) for the rest of the grace period.
    private var graceTimer: LoopTimer?

    private func finishShutdown() {
        guard !finished else { return }
        finished = true
        graceTimer?.close()
        graceTimer = nil
        sweepTimer?.close()
        sweepTimer = nil
        flushCheck?.close()
        flushCheck = nil
        registry.closeAll()
        for signal in signals { signal.close() }
        signals = []
        redis.close()
        subscriber.close()
    }
}

@available(*, unavailable)
extension HubWorker: Sendable {}

/// Connections refused for a bad token, between our 1008 close frame and the peer's answer; the
/// sweep drops those that never answer, so refused clients cannot pile up sockets.
final class RejectedConnections: WebSocketConnectionDelegate {
    var connections: [ObjectIdentifier: WebSocketConnection] = [:]
    func didReceiveText(_ connection: WebSocketConnection, _ bytes: UnsafeRawBufferPointer) {}
    func didClose(_ connection: WebSocketConnection, code: UInt16, reason: String) {
        connections[ObjectIdentifier(connection)] = nil
    }
}
