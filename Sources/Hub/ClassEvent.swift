import Attendance
import EventLoop
import WebSocket

/// One class event as the hub fans it out: its routing header read once per hub (not per
/// subscriber), and its bytes framed once into a WebSocket text frame every recipient shares.
final class ClassEvent {
    /// nil for ephemeral events (qr_rotated), which are not in the class stream.
    let offset: EventOffset?
    /// The student the event is about; students only see their own events and class-wide ones.
    let studentId: String?
    let teachersOnly: Bool
    let isClassClosed: Bool
    let frame: ByteBuffer

    init(offset: EventOffset?, studentId: String?, teachersOnly: Bool, isClassClosed: Bool = false, frame: ByteBuffer) {
        self.offset = offset
        self.studentId = studentId
        self.teachersOnly = teachersOnly
        self.isClassClosed = isClassClosed
        self.frame = frame
    }

    /// An event exactly as a class script stored and published it; nil if it is not one.
    static func stored(_ json: UnsafeRawBufferPointer) -> ClassEvent? {
        guard let header = EventHeader.parse(json) else { return nil }
        return ClassEvent(offset: header.offset, studentId: header.studentId, teachersOnly: false,
                          isClassClosed: header.event == "class_closed", frame: WebSocketFrameEncoder.frame(opcode: .text, payload: json))
    }

    func isVisible(to session: ClientSession) -> Bool {
        switch session.role {
        case .teacher, .admin: return true
        case .student: return !teachersOnly && (studentId == nil || studentId == session.userId)
        }
    }
}
