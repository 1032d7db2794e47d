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
    var qrTimer: LoopTimer?
    var qrPeriodS: Int = 0

    init(classId: String) {
        self.classId = classId
        channel = liveChannel(classId)
    }

    var teacherCount: Int { members.reduce(0) { $0 + ($1.session.role == .student ? 0 : 1) } }

    /// Hands a live event to every member (held back while a replay runs). The frame was built
    /// once; each member gets the same buffer.
    func dispatch(_ event: ClassEvent) {
        if isReplaying && event.offset != nil { held.append(event); return }
        deliverInOrder(event)
    }

    /// Delivers an event unless the room is already past its offset: a replay after a reconnect
    /// overlaps what pub/sub delivered, and stream order makes "past" a single comparison.
    func deliverInOrder(_ event: ClassEvent) {
        if let offset = event.offset {
            if let last = lastOffset, offset <= last { return }
            lastOffset = offset
        }
        for subscription in members { subscription.deliver(event) }
    }

    func remove(_ subscription: Subscription) {
        if let i = members.firstIndex(where: { $0 === subscription }) { members.remove(at: i) }
    }
}

/// One session's subscription to one room. Until its snapshot or replay is written, live events
/// are kept in `pending`; after that, only events past `watermark` go out, so the hand-over from
/// snapshot/replay to live events loses nothing and repeats nothing.
final class Subscription {
    unowned(unsafe) let session: ClientSession
    unowned(unsafe) let room: Room
    var watermark: EventOffset = .zero
    var pending: [ClassEvent]? = []

    init(session: ClientSession, room: Room) {
        self.session = session
        self.room = room
    }

    func deliver(_ event: ClassEvent) {
        guard event.isVisible(to: session) else { return }
        if pending != nil { pending!.append(event); return }
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
