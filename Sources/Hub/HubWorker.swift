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
    let scratch = WebSocketScratch()
    /// Replies are built here one at a time (the loop is single-threaded), so no reply allocates.
    var writer = JSONWriter(capacity: 4096)
    private var server: HTTPServer?
    private var rooms: [String: Room] = [:]
    private var roomsByChannel: [String: Room] = [:]
    private var sessions: [ObjectIdentifier: ClientSession] = [:]
    private let rejected = RejectedConnections()
    private var sweepTimer: LoopTimer?
    private let flushQueue = FlushQueue()
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
    }

    /// Starts listening and connecting; `run()` then serves until shutdown.
    func start(handleSignals: Bool = true) throws {
        subscriber.onMessage = { [unowned self] channel, payload in self.received(channel: channel, payload: payload) }
        subscriber.onResubscribed = { [unowned self] in self.replayRoomsAfterReconnect() }
        redis.connect()
        subscriber.connect()

        let router = Router()
        router.add("GET", "/healthz") { [unowned self] _, _, responder in self.health(responder) }
        router.add("GET", "/metrics") { [unowned self] _, _, responder in
            responder.send(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                                        body: Array(HubMetrics.prometheusText(self.allMetrics).utf8)))
        }
        router.add("GET", "/ws") { _, _, responder in
            // Reached only when the request was not an upgrade.
            responder.send(HTTPResponse.error(426, code: "bad_request", message: "GET /ws needs a WebSocket upgrade")
                .adding("Sec-WebSocket-Version", "13"))
        }
        var http = HTTPServerConfiguration()
        http.reusePort = configuration.reusePort || configuration.workers > 1
        server = try HTTPServer(loop: loop, address: configuration.listen, configuration: http, logger: logger,
                                upgradeHandler: { [unowned self] request, connection, leftover in
                                    self.upgrade(request, connection: connection, leftover: leftover)
                                }, handler: { router.handle($0, $1) })

        flushCheck = LoopCheck(loop: loop) { [unowned self] in self.flushRooms() }
        let sweep = LoopTimer(loop: loop)
        sweep.start(timeoutMs: configuration.sweepIntervalMs, repeatMs: configuration.sweepIntervalMs) { [unowned self] in self.sweep() }
        sweep.unref()
        sweepTimer = sweep
        if handleSignals {
            for signal in [SIGINT, SIGTERM] {
                signals.append(SignalWatcher(loop: loop, signal: signal) { [unowned self] _ in self.shutdown() })
            }
        }
    }

    func run() { loop.run() }

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
        let websocket = WebSocketConnection(connection: connection, loop: loop, scratch: scratch, delegate: nil)
        websocket.maxQueuedBytes = configuration.maxQueuedBytes
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
            let session = ClientSession(connection: websocket, worker: self, actor: Actor(claims: claims),
                                        address: connection.peerAddress?.host ?? "", tokenExpiresS: claims.exp)
            websocket.delegate = session
            sessions[ObjectIdentifier(session)] = session
            metrics.connectionsOpen.add(1, ordering: .relaxed)
            metrics.connectionsTotal.add(1, ordering: .relaxed)
            websocket.start(leftover: leftover)
            return true
        }
    }

    func sessionClosed(_ session: ClientSession) {
        guard sessions.removeValue(forKey: ObjectIdentifier(session)) != nil else { return }
        metrics.connectionsOpen.add(-1, ordering: .relaxed)
        for classId in Array(session.subscriptions.keys) { unsubscribe(session, classId: classId) }
        if isShuttingDown && sessions.isEmpty { finishShutdown() }
    }

    // MARK: rooms

    private func room(for classId: String) -> Room {
        if let room = rooms[classId] { return room }
        let room = Room(classId: classId, flushQueue: flushQueue)
        rooms[classId] = room
        roomsByChannel[room.channel] = room
        metrics.rooms.add(1, ordering: .relaxed)
        subscriber.subscribe(room.channel) { [weak room] in
            guard let room else { return }
            room.isConfirmed = true
            let waiting = room.whenConfirmed
            room.whenConfirmed = []
            for callback in waiting { callback() }
        }
        return room
    }

    private func closeRoomIfEmpty(_ room: Room) {
        guard room.members.isEmpty, rooms[room.classId] === room else { return }
        rooms[room.classId] = nil
        roomsByChannel[room.channel] = nil
        room.qrTimer?.close()
        room.qrTimer = nil
        metrics.rooms.add(-1, ordering: .relaxed)
        subscriber.unsubscribe(room.channel)
    }

    /// A pub/sub message: parse its header once, frame it once, hand the frame to the room.
    private func received(channel: String, payload: UnsafeRawBufferPointer) {
        guard let room = roomsByChannel[channel] else { return }
        guard let event = ClassEvent.stored(payload) else {
            logger.warning("ignoring a malformed event on \(channel)")
            return
        }
        metrics.eventsReceived.add(1, ordering: .relaxed)
        room.dispatch(event)
        if event.isClassClosed { stopQR(room) }
        let now = EventLoop.wallClockMs()
        if let offset = event.offset, now >= Int64(offset.ms) {
            metrics.eventAge.record(micros: Int(now - Int64(offset.ms)) * 1000)
        }
    }

    /// After Redis came back, each room replays from its last offset what was published meanwhile;
    /// live events wait until the replay is through so the order holds.
    private func replayRoomsAfterReconnect() {
        metrics.redisReconnects.add(subscriber.reconnects + redis.reconnects - reportedReconnects, ordering: .relaxed)
        reportedReconnects = subscriber.reconnects + redis.reconnects
        for room in rooms.values {
            let start = room.lastOffset ?? room.members.filter { $0.pending == nil }.map(\.watermark).min()
            guard let start, !room.isReplaying else { continue }
            room.isReplaying = true
            replayRoom(room, after: start)
        }
    }

    private func replayRoom(_ room: Room, after offset: EventOffset) {
        store.events(classId: room.classId, since: offset, limit: 500, actor: .system) { [weak self, weak room] result in
            guard let self, let room else { return }
            switch result {
            case .success(let page):
                for stored in page.events {
                    if let event = stored.json.withUnsafeBytes({ ClassEvent.stored($0) }) { room.deliverInOrder(event) }
                }
                if page.mayHaveMore, let next = page.next {
                    self.replayRoom(room, after: next)
                    return
                }
            case .failure(let error):
                self.logger.warning("replay of \(room.classId) after reconnect failed: \(error)")
            }
            room.isReplaying = false
            let held = room.held
            room.held = []
            for event in held { room.dispatch(event) }
        }
    }

    /// End of a loop turn: write the events the turn's pub/sub reads batched per room.
    private func flushRooms() {
        guard !flushQueue.rooms.isEmpty else { return }
        let started = EventLoop.monotonicNs()
        let rooms = flushQueue.rooms
        flushQueue.rooms.removeAll(keepingCapacity: true)
        for room in rooms { room.flush() }
        metrics.fanoutLatency.record(micros: Int((EventLoop.monotonicNs() - started) / 1000))
    }

    // MARK: client requests

    func subscribe(_ session: ClientSession, classId: String, since: EventOffset?, id: String?) {
        if session.subscriptions[classId] != nil {
            session.sendError(id: id, .conflict("already subscribed to \(classId)"))
            return
        }
        guard subscriber.isHealthy && redis.isHealthy else {
            session.sendError(id: id, .unavailable)
            return
        }
        if session.role == .student && session.actor.classId != classId {
            session.connection.close(code: WebSocketCloseCode.policyViolation, reason: "forbidden class")
            return
        }
        guard session.subscriptions.count < configuration.maxSubscriptionsPerConnection else {
            session.sendError(id: id, .badRequest("at most \(configuration.maxSubscriptionsPerConnection) subscriptions per connection"))
            return
        }
        let room = room(for: classId)
        let subscription = Subscription(session: session, room: room)
        room.members.append(subscription)
        session.subscriptions[classId] = subscription
        let begin = { [weak self] in
            guard let self, session.subscriptions[classId] === subscription else { return }
            if let since {
                self.replay(subscription, after: since, id: id, first: true)
            } else {
                self.sendSnapshot(subscription, id: id)
            }
        }
        if room.isConfirmed { begin() } else { room.whenConfirmed.append(begin) }
    }

    private func sendSnapshot(_ subscription: Subscription, id: String?) {
        let session = subscription.session
        let classId = subscription.room.classId
        store.snapshot(classId: classId, actor: session.actor) { [weak self] result in
            guard let self, session.subscriptions[classId] === subscription else { return }
            switch result {
            case .success(let snapshot):
                let rows = snapshot.students.filter { session.role != .student || $0.studentId == session.userId }
                session.reply { HubReply.subscribed(&$0, id: id, classId: classId, offset: snapshot.offset, snapshot: rows) }
                subscription.watermark = snapshot.offset
                subscription.goLive()
                if !snapshot.isClosed { self.startQRIfNeeded(subscription) }
            case .failure(let error):
                self.refuse(subscription, id: id, error)
            }
        }
    }

    /// `since`: every stored event after it, page by page, then the live ones held meanwhile.
    private func replay(_ subscription: Subscription, after offset: EventOffset, id: String?, first: Bool) {
        let session = subscription.session
        let classId = subscription.room.classId
        store.events(classId: classId, since: offset, limit: 500, actor: session.actor) { [weak self] result in
            guard let self, session.subscriptions[classId] === subscription else { return }
            switch result {
            case .success(let page):
                if first {
                    session.reply { HubReply.subscribed(&$0, id: id, classId: classId, offset: offset, snapshot: nil) }
                    subscription.watermark = offset
                }
                for stored in page.events {
                    if let event = stored.json.withUnsafeBytes({ ClassEvent.stored($0) }), event.isVisible(to: session) {
                        subscription.send(event)
                    }
                }
                if page.mayHaveMore, let next = page.next {
                    self.whenDrained(session) { [weak self] in self?.replay(subscription, after: next, id: id, first: false) }
                } else {
                    subscription.goLive()
                    self.startQRIfNeeded(subscription)
                }
            case .failure(let error):
                self.refuse(subscription, id: id, error)
            }
        }
    }

    /// Runs `next` once the session's send queue is mostly drained. A long replay to a phone on a
    /// slow link is paced by what it reads, instead of filling the queue past the slow-consumer limit
    /// (which would cut the phone off, and its reconnect would replay the same backlog again).
    private func whenDrained(_ session: ClientSession, _ next: @escaping () -> Void) {
        guard session.connection.isOpen else { return }
        guard session.connection.tcp.queuedBytes > configuration.maxQueuedBytes / 4 else { next(); return }
        let timer = LoopTimer(loop: loop)
        timer.start(timeoutMs: 20) { [weak self] in
            timer.close()
            self?.whenDrained(session, next)
        }
    }

    private func refuse(_ subscription: Subscription, id: String?, _ error: AttendanceError) {
        let session = subscription.session
        detach(subscription)
        if case .forbidden = error {
            session.connection.close(code: WebSocketCloseCode.policyViolation, reason: "forbidden class")
        } else {
            session.sendError(id: id, error)
        }
    }

    private func detach(_ subscription: Subscription) {
        let room = subscription.room
        subscription.session.subscriptions[room.classId] = nil
        room.remove(subscription)
        if room.members.isEmpty {
            closeRoomIfEmpty(room)
        } else if room.teacherCount == 0 {
            stopQR(room)
        }
    }

    func unsubscribe(_ session: ClientSession, classId: String) {
        guard let subscription = session.subscriptions[classId] else { return }
        detach(subscription)
    }

    func checkin(_ session: ClientSession, classId: String, qr: String?, code: String?, id: String?) {
        guard session.role == .student, session.actor.classId == classId else {
            session.sendError(id: id, .forbidden("only a student of this class can check in to it"))
            return
        }
        let proof: CheckinProof = qr.map { .qr($0) } ?? .code(code ?? "")
        store.checkin(classId: classId, actor: session.actor, proof: proof, address: session.address) { [weak self] result in
            guard let self, session.connection.isOpen else { return }
            switch result {
            case .success(let checkin):
                self.metrics.checkins.add(1, ordering: .relaxed)
                session.reply { HubReply.ack(&$0, id: id, status: checkin.status.rawValue, atMs: checkin.atMs) }
            case .failure(let error):
                session.sendError(id: id, error)
            }
        }
    }

    // MARK: QR rotation

    /// Teachers' dashboards get the new QR at every window boundary while they watch an open class.
    private func startQRIfNeeded(_ subscription: Subscription) {
        let room = subscription.room
        guard subscription.session.role != .student else { return }
        if room.qrTimer != nil {
            sendCurrentQR(room, to: subscription)
            return
        }
        store.classInfo(classId: room.classId, actor: .system) { [weak self, weak room] result in
            guard let self, let room, self.rooms[room.classId] === room, room.qrTimer == nil,
                  case .success(let info) = result, info.isOpen, room.teacherCount > 0 else { return }
            room.qrPeriodS = info.qrPeriodS
            room.qrTimer = LoopTimer(loop: self.loop)
            self.scheduleQR(room)
            for member in room.members where member.session.role != .student && member.pending == nil {
                self.sendCurrentQR(room, to: member)
            }
        }
    }

    private func qrEvent(_ room: Room) -> ClassEvent {
        let code = QRToken.current(classId: room.classId, periodS: room.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: configuration.qrKey)
        var w = JSONWriter(capacity: 192)
        w.beginObject()
        w.key("type"); w.string("event")
        w.key("class_id"); w.string(room.classId)
        // qr_rotated is not stored: it carries the class's latest offset, so `since` logic is unaffected.
        w.key("offset"); w.string((room.lastOffset ?? .zero).description)
        w.key("event"); w.string("qr_rotated")
        w.key("qr"); w.string(code.qr)
        w.key("expires_ms"); w.int(code.expiresMs)
        w.endObject()
        let frame = w.bytes.withUnsafeBytes { WebSocketFrameEncoder.frame(opcode: .text, payload: $0) }
        return ClassEvent(offset: nil, studentId: nil, teachersOnly: true, frame: frame)
    }

    private func sendCurrentQR(_ room: Room, to subscription: Subscription) {
        guard room.qrPeriodS > 0 else { return }
        subscription.send(qrEvent(room))
    }

    private func scheduleQR(_ room: Room) {
        guard let timer = room.qrTimer, room.qrPeriodS > 0 else { return }
        let periodMs = Int64(room.qrPeriodS) * 1000
        let now = EventLoop.wallClockMs()
        let next = (now / periodMs + 1) * periodMs
        timer.start(timeoutMs: UInt64(next - now)) { [weak self, weak room] in
            guard let self, let room else { return }
            room.dispatch(self.qrEvent(room))
            self.scheduleQR(room)
        }
    }

    private func stopQR(_ room: Room) {
        room.qrTimer?.close()
        room.qrTimer = nil
    }

    // MARK: housekeeping

    /// Once a second: ping idle clients, drop those that missed two pings, finish overdue closes,
    /// and close sessions whose access token expired.
    private func sweep() {
        let now = loop.nowMs
        let nowS = EventLoop.wallClockMs() / 1000
        for connection in Array(rejected.connections.values) { connection.abortIfCloseDeadlinePassed(nowMs: now) }
        for session in sessions.values {
            let ws = session.connection
            if ws.abortIfCloseDeadlinePassed(nowMs: now) { continue }
            guard ws.isOpen else { continue }
            if session.tokenExpiresS <= nowS {
                ws.close(code: WebSocketCloseCode.policyViolation, reason: "access token expired")
                continue
            }
            let quietSince = max(ws.lastReceivedMs, session.lastPingMs)
            guard now >= quietSince + configuration.pingIntervalMs else { continue }
            if ws.unansweredPings >= 2 {
                ws.abort(code: WebSocketCloseCode.goingAway, reason: "missed two pings")
            } else {
                ws.sendPing()
                session.lastPingMs = now
            }
        }
    }

    /// SIGINT/SIGTERM: stop accepting, close every WebSocket with 1001, then let the loop end.
    func shutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        logger.info("shutting down: closing \(sessions.count) connections")
        server?.close()
        for connection in Array(rejected.connections.values) { connection.abort() }
        for session in sessions.values { session.connection.close(code: WebSocketCloseCode.goingAway, reason: "server shutting down") }
        if sessions.isEmpty { finishShutdown(); return }
        // Peers that do not answer the close frame are dropped after a grace period.
        let grace = LoopTimer(loop: loop)
        grace.start(timeoutMs: 2000) { [weak self] in
            grace.close()
            guard let self else { return }
            for session in self.sessions.values { session.connection.abort(code: WebSocketCloseCode.goingAway, reason: "server shutting down") }
            self.finishShutdown()
        }
    }

    private var finished = false

    private func finishShutdown() {
        guard !finished else { return }
        finished = true
        sweepTimer?.close()
        sweepTimer = nil
        flushCheck?.close()
        flushCheck = nil
        for room in rooms.values { stopQR(room) }
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
