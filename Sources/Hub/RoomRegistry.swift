import Attendance
import EventLoop
import RedisClient

/// The rooms of one worker, by class and by pub/sub channel: creates a room (and subscribes its
/// channel) on its first member, confirms it when Redis does, and closes it with its last member.
/// A room closed and re-created for the same class is a new object; callbacks of the old one check
/// identity (`room(for:) === room`) before touching anything.
final class RoomRegistry {
    private let subscriber: RedisSubscriber
    private let metrics: HubMetrics
    private let limits: HoldLimits
    private(set) var rooms: [String: Room] = [:]
    private var roomsByChannel: [String: Room] = [:]
    let flushQueue = FlushQueue()

    init(subscriber: RedisSubscriber, metrics: HubMetrics, maxHeldEvents: Int) {
        self.subscriber = subscriber
        self.metrics = metrics
        limits = HoldLimits(maxHeld: maxHeldEvents, metrics: metrics)
    }

    /// The open room of a class, if any.
    func existing(_ classId: String) -> Room? { rooms[classId] }

    func room(onChannel channel: String) -> Room? { roomsByChannel[channel] }

    /// The class's room, created and subscribed on first use.
    func room(for classId: String) -> Room {
        if let room = rooms[classId] { return room }
        let room = Room(classId: classId, flushQueue: flushQueue, limits: limits)
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

    /// Adds a subscription of `session` to the class's room (created if needed).
    func attach(_ session: ClientSession, classId: String) -> Subscription {
        let room = room(for: classId)
        let subscription = Subscription(session: session, room: room)
        room.members.append(subscription)
        session.subscriptions[classId] = subscription
        return subscription
    }

    /// Takes a subscription out of its session and room; the room closes with its last member, and
    /// its QR stops with its last teacher.
    func detach(_ subscription: Subscription) {
        let room = subscription.room
        subscription.detach()
        if subscription.session.subscriptions[room.classId] === subscription {
            subscription.session.subscriptions[room.classId] = nil
        }
        room.remove(subscription)
        if room.members.isEmpty {
            closeIfEmpty(room)
        } else if room.teacherCount == 0 {
            room.stopQR()
        }
    }

    private func closeIfEmpty(_ room: Room) {
        guard room.members.isEmpty, rooms[room.classId] === room else { return }
        rooms[room.classId] = nil
        roomsByChannel[room.channel] = nil
        room.close()
        metrics.rooms.add(-1, ordering: .relaxed)
        subscriber.unsubscribe(room.channel)
    }

    /// End of a loop turn: write the events the turn's pub/sub reads batched per room.
    func flush() {
        guard !flushQueue.rooms.isEmpty else { return }
        let started = EventLoop.monotonicNs()
        let rooms = flushQueue.rooms
        flushQueue.rooms.removeAll(keepingCapacity: true)
        for room in rooms { room.flush() }
        metrics.fanoutLatency.record(micros: Int((EventLoop.monotonicNs() - started) / 1000))
    }

    /// Shutdown: every room stops its timers (QR, replay retries) so the loop can end.
    func closeAll() {
        for room in rooms.values { room.close() }
        rooms = [:]
        roomsByChannel = [:]
    }
}

@available(*, unavailable)
extension RoomRegistry: Sendable {}
