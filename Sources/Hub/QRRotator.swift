import Attendance
import EventLoop
import JSON
import WebSocket

/// Teachers' dashboards get the class's current QR when they go live and a new one at every window
/// boundary while they watch an open class. One timer per room, armed while a teacher is a member.
final class QRRotator {
    private let loop: EventLoop
    private let store: ClassStore
    private let registry: RoomRegistry
    private let qrKey: [UInt8]

    init(loop: EventLoop, store: ClassStore, registry: RoomRegistry, qrKey: [UInt8]) {
        self.loop = loop
        self.store = store
        self.registry = registry
        self.qrKey = qrKey
    }

    /// A teacher's or admin's subscription went live: send the current QR, and start the room's
    /// rotation if it is not running.
    func startIfNeeded(_ subscription: Subscription) {
        let room = subscription.room
        guard subscription.session.role != .student else { return }
        if room.qrTimer != nil {
            sendCurrent(room, to: subscription)
            return
        }
        store.classInfo(classId: room.classId, actor: .system) { [weak self, weak room] result in
            guard let self, let room, self.registry.existing(room.classId) === room, room.qrTimer == nil,
                  case .success(let info) = result, info.isOpen, room.teacherCount > 0 else { return }
            room.qrPeriodS = info.qrPeriodS
            room.qrTimer = LoopTimer(loop: self.loop)
            self.schedule(room)
            for member in room.members where member.session.role != .student && member.pending == nil {
                self.sendCurrent(room, to: member)
            }
        }
    }

    private func event(_ room: Room) -> ClassEvent {
        let code = QRToken.current(classId: room.classId, periodS: room.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey)
        var w = JSONWriter(capacity: 192)
        w.beginObject()
        w.key("type"); w.string("event")
        w.key("class_id"); w.string(room.classId)
        // Ephemeral, not in the stream: no offset, so a client de-duplicating by offset keeps it
        // and its resume point (`since`) never moves (PROTOCOL.md).
        w.key("event"); w.string("qr_rotated")
        w.key("qr"); w.string(code.qr)
        w.key("expires_ms"); w.int(code.expiresMs)
        w.endObject()
        let frame = w.bytes.withUnsafeBytes { WebSocketFrameEncoder.frame(opcode: .text, payload: $0) }
        return ClassEvent(offset: nil, studentId: nil, teachersOnly: true, frame: frame)
    }

    private func sendCurrent(_ room: Room, to subscription: Subscription) {
        guard room.qrPeriodS > 0 else { return }
        subscription.send(event(room))
    }

    private func schedule(_ room: Room) {
        guard let timer = room.qrTimer, room.qrPeriodS > 0 else { return }
        let periodMs = Int64(room.qrPeriodS) * 1000
        let now = EventLoop.wallClockMs()
        // Each class rotates at its own moment in the first half second of the window (never later
        // than a quarter of it), not all at the boundary: a hub with thousands of dashboards rotating
        // in one loop turn held back check-ins queued behind it (docs/SCALING.md). The previous
        // window's QR is still accepted meanwhile (QRToken).
        let spreadMs = min(Int64(Self.spread(room.classId) % 500), periodMs / 4)
        let next = ((now - spreadMs) / periodMs + 1) * periodMs + spreadMs
        timer.start(timeoutMs: UInt64(next - now)) { [weak self, weak room] in
            guard let self, let room else { return }
            room.dispatch(self.event(room))
            self.schedule(room)
        }
    }
}

extension QRRotator {
    /// FNV-1a of the class id: a fixed, evenly spread offset per class.
    static func spread(_ classId: String) -> UInt32 {
        classId.utf8.reduce(2_166_136_261 as UInt32) { ($0 ^ UInt32($1)) &* 16_777_619 }
    }
}

@available(*, unavailable)
extension QRRotator: Sendable {}
