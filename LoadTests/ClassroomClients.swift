import EventLoop
import JSON
import WebSocket

/// A teacher's dashboard in the classroom scenario: subscribes to its class, keeps the current QR
/// token (what students would scan off the projector), and reports `checked_in` events.
final class ClassroomTeacher: DashboardClient {
    unowned let scenario: ClassroomScenario
    let index: Int
    let teacherId: String
    let token: String
    var classId = ""
    var code = ""
    var qr = ""

    init(scenario: ClassroomScenario, index: Int, teacherId: String, token: String) {
        self.scenario = scenario
        self.index = index
        self.teacherId = teacherId
        self.token = token
        super.init(run: scenario.run)
    }

    override var isShuttingDown: Bool { scenario.shuttingDown }

    func attach(_ client: WebSocketClient) {
        subscribe(client, classId: classId, id: "sub")
    }

    override func eventReceived(_ bytes: UnsafeRawBufferPointer) {
        let event = MessageScanner.string("event", in: bytes)
        if MessageScanner.equals(event, "checked_in") {
            guard let studentId = MessageScanner.string("student_id", in: bytes) else {
                scenario.run.errors.add("checked_in event without student_id")
                return
            }
            scenario.checkedInEvent(studentId: studentId)
        } else if MessageScanner.equals(event, "qr_rotated"), let qr = MessageScanner.string("qr", in: bytes) {
            self.qr = String(qr)
        }
    }

    override func ready() { scenario.teacherSubscribed() }
    override func failed() { scenario.teacherFailed() }
}


/// A student's device: joined by code through the API, connected to the hub, checks in once at its
/// scheduled time by the method the schedule assigns.
final class ClassroomStudent: WebSocketClientDelegate {
    unowned let scenario: ClassroomScenario
    unowned let teacher: ClassroomTeacher
    let studentId: String
    var token = ""
    private(set) var client: WebSocketClient?
    /// When the check-in was due (monotonic ns); 0 before it was scheduled.
    var scheduledNs: UInt64 = 0
    var acked = false
    var eventSeen = false
    private var awaitingAck = false

    init(scenario: ClassroomScenario, teacher: ClassroomTeacher, studentId: String) {
        self.scenario = scenario
        self.teacher = teacher
        self.studentId = studentId
    }

    func attach(_ client: WebSocketClient) {
        self.client = client
        client.delegate = self
    }

    func checkIn(method: CheckinMethod) {
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        if method == .websocketQR || method == .websocketCode {
            w.field("type", "checkin")
            w.field("class_id", teacher.classId)
        }
        if method.usesQR { w.field("qr", teacher.qr) } else { w.field("code", teacher.code) }
        if method == .websocketQR || method == .websocketCode {
            w.field("id", "c")
            w.endObject()
            guard let client, client.isOpen else {
                scenario.ackFailed("ws check-in: connection closed")
                return
            }
            awaitingAck = true
            client.sendText(w.bytes)
            return
        }
        w.endObject()
        scenario.api.post("/v1/classes/\(teacher.classId)/checkins", token: token, body: w.bytes) { [unowned self] response in
            guard let response, response.isSuccess else {
                self.scenario.ackFailed("rest check-in: \(response?.errorKind ?? "no response")")
                return
            }
            self.acked = true
            self.scenario.acked(self)
        }
    }

    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {
        MessageScanner.withCompact(bytes) { handle($0) }
    }

    private func handle(_ bytes: UnsafeRawBufferPointer) {
        let type = MessageScanner.string("type", in: bytes)
        if MessageScanner.equals(type, "ack") {
            guard awaitingAck else { return scenario.run.errors.add("unexpected ack") }
            awaitingAck = false
            acked = true
            scenario.acked(self)
        } else if MessageScanner.equals(type, "error") {
            let code = (try? JSON.parse(bytes))?["code"]?.string ?? "?"
            if awaitingAck {
                awaitingAck = false
                scenario.ackFailed("ws check-in: \(code)")
            } else {
                scenario.run.errors.add("student error: \(code)")
            }
        }
    }

    func didClose(_ client: WebSocketClient, code: UInt16, reason: String) {
        guard !scenario.shuttingDown else { return }
        if awaitingAck {
            awaitingAck = false
            scenario.ackFailed("ws check-in: closed \(code) \(reason.prefix(40))")
        } else {
            scenario.run.errors.add("student connection closed: \(code) \(reason.prefix(40))")
        }
    }
}

@available(*, unavailable)
extension ClassroomStudent: Sendable {}
