import Attendance
import EventLoop

/// The local subscribers of one class on one worker, and that class's pub/sub channel.
/// Events arrive in stream order from the channel; while the room replays from the stream (after a
/// Redis reconnect) live events wait in `held` so that nothing overtakes what is being replayed.
final class Room {
    let classId: String
    let channel: String
    var members: ContiguousArray<Subscription> = []
    /// The highest stream offset fanned out here: where a replay after a reconnect starts.
    var lastOffset: EventOffset?
    /// True once Redis confirmed the channel subscription; live events flow from then on.
    var isConfirmed = false
    var whenConfirmed: [() -> Void] = []
    var isReplaying = false
    var held: [ClassEvent] = []
    /// `held` passed `limits.maxHeld` during this replay: the replay makes another pass from
    /// `lastOffset` before it lets the held events go.
    var heldOverflowed = false
    var qrTimer: LoopTimer?
    /// Armed while a failed replay waits to be retried.
    var retryTimer: LoopTimer?
    var qrPeriodS: Int = 0
    private(set) var isClosed = false
    /// Events accepted during this loop turn, written when it ends (`flush`): one pub/sub read often
    /// carries several events of a class, and a dashboard then gets them in one write, not one each.
    private var batch: [ClassEvent] = []
    private let flushQueue: FlushQueue
    let limits: HoldLimits

    init(classId: String, flushQueue: FlushQueue, limits: HoldLimits) {
        self.classId = classId
        self.flushQueue = flushQueue
        self.limits = limits
        channel = liveChannel(classId)
    }

    var teacherCount: Int { members.reduce(0) { $0 + ($1.session.role == .student ? 0 : 1) } }

    /// Hands a live event to every member (held back while a replay runs). Ephemeral events
    /// (qr_rotated) go out at once; stored ones are batched until the end of the loop turn.
    func dispatch(_ event: ClassEvent) {
        guard event.offset != nil else {
            forEachMember { $0.deliver(event) }
            return
        }
        if isReplaying {
            if held.count >= limits.maxHeld {
                // Every held event is already in the stream; the replay's next pass reads them again.
                held.removeAll(keepingCapacity: false)
                heldOverflowed = true
                limits.metrics.heldOverflows.add(1, ordering: .relaxed)
            }
            held.append(event)
            return
        }
        deliverInOrder(event)
    }

    /// Accepts an event unless the room is already past its offset: a replay after a reconnect
    /// overlaps what pub/sub delivered, and stream order makes "past" a single comparison.
    func deliverInOrder(_ event: ClassEvent) {
        guard let offset = event.offset else { return }
        if let last = lastOffset, offset <= last { return }
        lastOffset = offset
        if batch.isEmpty { flushQueue.rooms.append(self) }
        batch.append(event)
    }

    /// Writes the turn's events. A live teacher or admin behind all of them gets one buffer with
    /// every frame (built once, shared by all such members); students (who see only their own
    /// events) and subscriptions still loading get the events one by one through their filters.
    func flush() {
        guard !batch.isEmpty else { return }
        let events = batch
        batch.removeAll(keepingCapacity: true)
        guard events.count > 1, let first = events.first?.offset, let last = events.last?.offset else {
            for event in events { forEachMember { $0.deliver(event) } }
            return
        }
        var combined: ByteBuffer?
        forEachMember { subscription in
            if subscription.pending == nil, subscription.session.role != .student, subscription.watermark < first {
                let frames = combined ?? Room.concatenate(events)
                combined = frames
                subscription.watermark = last
                subscription.session.send(frame: frames, messages: events.count)
            } else {
                for event in events { subscription.deliver(event) }
            }
        }
    }

    /// The fan-out loop. By index: an unoptimized build runs a `for … in` over the array through
    /// the standard library's unspecialized iterator, which allocates per element, and
    /// FanOutAllocationTests (a debug build) must see what an optimized build does.
    private func forEachMember(_ body: (Subscription) -> Void) {
        let members = members  // as the loop began, whatever a delivery does to the room
        var i = 0
        while i < members.count {
            body(members[i])
            i += 1
        }
    }

    private static func concatenate(_ events: [ClassEvent]) -> ByteBuffer {
        ByteBuffer(count: events.reduce(0) { $0 + $1.frame.count }) { out in
            var at = 0
            for event in events {
                (out.baseAddress! + at).copyMemory(from: event.frame.base, byteCount: event.frame.count)
                at += event.frame.count
            }
        }
    }

    func remove(_ subscription: Subscription) {
        if let i = members.firstIndex(where: { $0 === subscription }) { members.remove(at: i) }
    }

    func stopQR() {
        qrTimer?.close()
        qrTimer = nil
    }

    /// The last member left: drop everything that could still run or hold members.
    func close() {
        isClosed = true
        stopQR()
        retryTimer?.close()
        retryTimer = nil
        whenConfirmed = []
        held = []
        batch = []
        members = []
    }
}

/// One session's subscription to one room. Until its snapshot or replay is written, live events
/// are kept in `pending`; after that, only events past `watermark` go out, so the hand-over from
/// snapshot/replay to live events loses nothing and repeats nothing.
///
/// `session` and `room` are strong: the cycles (session → subscriptions, room → members) last only
/// while the subscription is attached, and `RoomRegistry.detach` breaks both. A callback still
/// holding a detached subscription (a snapshot, a replay page, a paused replay) finds `isDetached`
/// and stops, whatever became of the room.
final class Subscription {
    let session: ClientSession
    let room: Room
    var watermark: EventOffset = .zero
    var pending: [ClassEvent]? = []
    /// `pending` passed `room.limits.maxHeld` while loading: the load reads the stream again from
    /// `watermark` before it goes live.
    var pendingOverflowed = false
    private(set) var isDetached = false
    /// A `since` replay waiting for the session's send queue to drain: where it goes on.
    var pausedReplay: (next: EventOffset, id: String?)?

    init(session: ClientSession, room: Room) {
        self.session = session
        self.room = room
    }

    func detach() {
        isDetached = true
        pausedReplay = nil
        pending = nil
    }

    func deliver(_ event: ClassEvent) {
        guard event.isVisible(to: session) else { return }
        if pending != nil {
            if pending!.count >= room.limits.maxHeld {
                pending!.removeAll(keepingCapacity: false)
                pendingOverflowed = true
                room.limits.metrics.heldOverflows.add(1, ordering: .relaxed)
            }
            pending!.append(event)
            return
        }
        send(event)
    }

    /// Sends if past the watermark (ephemeral events have no offset and always go).
    func send(_ event: ClassEvent) {
        if let offset = event.offset {
            guard offset > watermark else { return }
            watermark = offset
        }
        session.send(frame: event.frame)
    }

    /// The snapshot or replay has been written: send what arrived meanwhile and go live.
    func goLive() {
        guard let held = pending else { return }
        pending = nil
        for event in held { send(event) }
    }
}

/// How many live events a room or a subscription holds back while it loads (`HubConfiguration.maxHeldEvents`).
struct HoldLimits {
    let maxHeld: Int
    let metrics: HubMetrics
}

/// Rooms with events batched in the current loop turn; the worker flushes them when the turn's
/// I/O is done.
final class FlushQueue {
    var rooms: [Room] = []
}
