import Attendance
import EventLoop
import Logging
import WebSocket

/// Loads what a subscription or a room missed: a new subscription's snapshot or its `since` replay
/// (paced by what the client reads), and a room's replay after a Redis reconnect.
final class Replayer {
    /// First wait before retrying a failed room replay, doubled per failure up to the maximum: the
    /// command connection usually returns within a few backoff steps of the pub/sub one.
    static let retryInitialMs: UInt64 = 100
    static let retryMaxMs: UInt64 = 2_000

    private let loop: EventLoop
    private let metrics: HubMetrics
    private let store: ClassStore
    private let registry: RoomRegistry
    private let qr: QRRotator
    private let configuration: HubConfiguration
    private let logger: Logger

    init(loop: EventLoop, metrics: HubMetrics, store: ClassStore, registry: RoomRegistry, qr: QRRotator, configuration: HubConfiguration, logger: Logger) {
        self.loop = loop
        self.metrics = metrics
        self.store = store
        self.registry = registry
        self.qr = qr
        self.configuration = configuration
        self.logger = logger
    }

    /// Writes the subscription's first answer: the snapshot, or with `since` every stored event after it.
    func begin(_ subscription: Subscription, since: EventOffset?, id: String?) {
        if let since {
            replay(subscription, after: since, id: id, first: true)
        } else {
            sendSnapshot(subscription, id: id)
        }
    }

    private func sendSnapshot(_ subscription: Subscription, id: String?) {
        let session = subscription.session
        let classId = subscription.room.classId
        // A student sees only its own row: read only that record, not the whole class.
        let read = session.role == .student ? store.studentSnapshot : store.snapshot
        read(classId, session.actor) { [weak self] result in
            guard let self, !subscription.isDetached else { return }
            switch result {
            case .success(let snapshot):
                let rows = snapshot.students.filter { session.role != .student || $0.studentId == session.userId }
                session.reply { HubReply.subscribed(&$0, id: id, classId: classId, offset: snapshot.offset, snapshot: rows) }
                subscription.watermark = snapshot.offset
                if subscription.pendingOverflowed {
                    // Live events were dropped while the snapshot loaded: read them from the stream.
                    subscription.pendingOverflowed = false
                    self.replay(subscription, after: snapshot.offset, id: id, first: false)
                    return
                }
                subscription.goLive()
                if !snapshot.isClosed { self.qr.startIfNeeded(subscription) }
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
            guard let self, !subscription.isDetached else { return }
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
                    self.continueWhenDrained(subscription, after: next, id: id)
                } else if subscription.pendingOverflowed {
                    // Live events were dropped meanwhile: one more pass from what was delivered.
                    subscription.pendingOverflowed = false
                    self.continueWhenDrained(subscription, after: subscription.watermark, id: id)
                } else {
                    subscription.goLive()
                    self.qr.startIfNeeded(subscription)
                }
            case .failure(let error):
                self.refuse(subscription, id: id, error)
            }
        }
    }

    /// Reads the next page now if the session's send queue is mostly drained, else when the
    /// connection reports it drained (`resumePausedReplays`). A long replay to a phone on a slow
    /// link is paced by what it reads, instead of filling the queue past the slow-consumer limit
    /// (which would cut the phone off, and its reconnect would replay the same backlog again).
    private func continueWhenDrained(_ subscription: Subscription, after next: EventOffset, id: String?) {
        let connection = subscription.session.connection
        guard connection.isOpen else { return }
        guard connection.tcp.queuedBytes > configuration.maxQueuedBytes / 4 else {
            replay(subscription, after: next, id: id, first: false)
            return
        }
        metrics.replayPauses.add(1, ordering: .relaxed)
        subscription.pausedReplay = (next, id)
    }

    /// The session's send queue drained: its paused replays go on.
    func resumePausedReplays(_ session: ClientSession) {
        for subscription in session.subscriptions.values {
            guard let paused = subscription.pausedReplay, !subscription.isDetached else { continue }
            subscription.pausedReplay = nil
            replay(subscription, after: paused.next, id: paused.id, first: false)
        }
    }

    private func refuse(_ subscription: Subscription, id: String?, _ error: AttendanceError) {
        let session = subscription.session
        registry.detach(subscription)
        if case .forbidden = error {
            session.connection.close(code: WebSocketCloseCode.policyViolation, reason: "forbidden class")
        } else {
            session.sendError(id: id, error)
        }
    }

    // MARK: rooms after a Redis reconnect

    /// After Redis came back, each room replays from its last offset what was published meanwhile;
    /// live events wait until the replay is through so the order holds.
    func replayRoomsAfterReconnect() {
        for room in registry.rooms.values {
            let start = room.lastOffset ?? room.members.filter { $0.pending == nil }.map(\.watermark).min()
            guard let start, !room.isReplaying else { continue }
            room.isReplaying = true
            replayRoom(room, after: start)
        }
    }

    /// One page after `offset`; a failure (the command connection may come back after the pub/sub
    /// one) is retried with backoff until it succeeds or the room closes, live events held meanwhile.
    private func replayRoom(_ room: Room, after offset: EventOffset, failures: Int = 0) {
        store.events(classId: room.classId, since: offset, limit: 500, actor: .system) { [weak self, weak room] result in
            guard let self, let room, !room.isClosed else { return }
            switch result {
            case .success(let page):
                for stored in page.events {
                    if let event = stored.json.withUnsafeBytes({ ClassEvent.stored($0) }) { room.deliverInOrder(event) }
                }
                if page.mayHaveMore, let next = page.next {
                    self.replayRoom(room, after: next)
                    return
                }
                if room.heldOverflowed {
                    // Live events were dropped meanwhile: one more pass from what was delivered.
                    room.heldOverflowed = false
                    self.replayRoom(room, after: room.lastOffset ?? offset)
                    return
                }
            case .failure(let error):
                self.metrics.replayRetries.add(1, ordering: .relaxed)
                let delay = min(Self.retryInitialMs << UInt64(min(failures, 16)), Self.retryMaxMs)
                self.logger.warning("replay of \(room.classId) after reconnect failed: \(error); retrying in \(delay) ms")
                let timer = room.retryTimer ?? LoopTimer(loop: self.loop)
                room.retryTimer = timer
                timer.start(timeoutMs: delay) { [weak self, weak room] in
                    guard let self, let room, !room.isClosed else { return }
                    self.replayRoom(room, after: offset, failures: failures + 1)
                }
                return
            }
            room.retryTimer?.close()
            room.retryTimer = nil
            room.isReplaying = false
            let held = room.held
            room.held = []
            for event in held { room.dispatch(event) }
        }
    }
}

@available(*, unavailable)
extension Replayer: Sendable {}
