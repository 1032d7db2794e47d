import EventLoop
import JSON
import WebSocket

/// A teacher's dashboard in the classroom scenario: subscribes to its class, keeps the current QR
/// token (what students would scan off the projector), and reports `checked_in` events. With
/// retries on, a dropped dashboard reconnects and resumes from the last offset it saw (`since`).
final class ClassroomTeacher: DashboardClient {
    unowned let scenario: ClassroomScenario
    let index: Int
    let teacherId: String
    let token: String
    var classId = ""
    var code = ""
    var qr = ""
    /// The offset of the last stored event seen (the snapshot's before any): where a resume starts.
    private var lastOffset = "0-0"
    private var lastOffsetPair: (UInt64, UInt64) = (0, 0)
    private var resumeAttempts = 0
    private var resumeSentNs: UInt64 = 0

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
        if MessageScanner.equals(event, "qr_rotated") {
            if let qr = MessageScanner.string("qr", in: bytes) { self.qr = String(qr) }
            return
        }
        // Stored events arrive in offset order, each once, across resumes too.
        if let text = MessageScanner.string("offset", in: bytes), let offset = MessageScanner.offset(text) {
            if offset <= lastOffsetPair {
                scenario.outOfOrderEvents += 1
            } else {
                lastOffsetPair = offset
                lastOffset = String(text)
            }
        }
        if MessageScanner.equals(event, "checked_in") {
            guard let studentId = MessageScanner.string("student_id", in: bytes) else {
                scenario.run.errors.add("checked_in event without student_id")
                return
            }
            scenario.checkedInEvent(studentId: studentId)
        }
    }

    override func ready() { scenario.teacherSubscribed() }
    override func failed() { scenario.teacherFailed() }

    override func resubscribed(_ bytes: UnsafeRawBufferPointer) {
        resumeAttempts = 0
        scenario.chaos.succeeded(sentNs: resumeSentNs)
    }

    override func errorReceived(code: String) -> Bool {
        // A resume refused while Redis is down: try again on the same connection.
        guard subscribed, code == "unavailable", scenario.retrying, !scenario.shuttingDown else { return false }
        scenario.chaos.failed(sentNs: resumeSentNs)
        retryLater { [unowned self] in
            if let client = self.client, client.isOpen { self.resume(client) } else { self.reconnect() }
        }
        return true
    }

    override func closedUnexpectedly(code: UInt16) -> Bool {
        guard subscribed, scenario.retrying else { return false }
        scenario.chaos.failed(sentNs: EventLoop.monotonicNs())
        reconnect()
        return true
    }

    private func reconnect() {
        guard !scenario.shuttingDown else { return }
        scenario.connector.connect(token: token, quiet: true) { [unowned self] client in
            guard !self.scenario.shuttingDown else { client?.close(); return }
            guard let client else { return self.retryLater { self.reconnect() } }
            self.scenario.chaos.reconnected()
            self.resume(client)
        }
    }

    private func resume(_ client: WebSocketClient) {
        resumeSentNs = EventLoop.monotonicNs()
        subscribe(client, classId: classId, id: "sub", since: lastOffset)
    }

    private func retryLater(_ action: @escaping () -> Void) {
        resumeAttempts += 1
        scenario.retries.after(ms: scenario.retries.backoffMs(attempt: resumeAttempts), action)
    }
}

/// A student's device: joined by code through the API, connected to the hub, checks in once at its
/// scheduled time by the method the schedule assigns. With retries on, a check-in refused with
/// 503/`unavailable`, dropped with its connection or unanswered for `attemptTimeoutMs` is sent
/// again (check-ins are idempotent: a repeat returns the first result), and a dropped connection
/// is reopened.
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
    /// Acked, or given up on at the ack timeout: no more attempts.
    var settled = false
    private var method = CheckinMethod.restQR
    private var awaitingAck = false
    /// Acks the hub sent this student (one per attempt at most).
    private var acksReceived = 0
    private var attempt = 0
    private var attemptSentNs: UInt64 = 0
    private var connecting = false

    /// An attempt without any answer this long is retried (beyond Redis's command timeout, so a
    /// slow answer is not mistaken for none).
    static let attemptTimeoutMs: UInt64 = 5000

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
        self.method = method
        send()
    }

    private var overWebSocket: Bool { method == .websocketQR || method == .websocketCode }

    private func send() {
        guard !settled, !scenario.shuttingDown else { return }
        attempt += 1
        attemptSentNs = EventLoop.monotonicNs()
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        if overWebSocket {
            w.field("type", "checkin")
            w.field("class_id", teacher.classId)
        }
        // The QR on screen now: a retry after a rotation scans the new one.
        if method.usesQR { w.field("qr", teacher.qr) } else { w.field("code", teacher.code) }
        if scenario.retrying {
            let this = attempt
            scenario.retries.after(ms: Self.attemptTimeoutMs) { [unowned self] in
                if !self.settled && self.attempt == this { self.failed("no answer") }
            }
        }
        if overWebSocket {
            w.field("id", "c")
            w.endObject()
            guard let client, client.isOpen else {
                if scenario.retrying { return failed("connection closed") }
                scenario.ackFailed("ws check-in: connection closed")
                return
            }
            awaitingAck = true
            client.sendText(w.bytes)
            return
        }
        w.endObject()
        let this = attempt
        scenario.api.post("/v1/classes/\(teacher.classId)/checkins", token: token, body: w.bytes) { [unowned self] response in
            if let response, response.isSuccess { return self.succeeded() }
            // A late refusal of an attempt already retried changes nothing.
            guard !self.settled, self.attempt == this else { return }
            if self.scenario.retrying && (response == nil || response?.status == 503) {
                self.failed(response?.errorKind ?? "no response")
            } else {
                self.settled = true
                self.scenario.ackFailed("rest check-in: \(response?.errorKind ?? "no response")")
            }
        }
    }

    private func succeeded() {
        awaitingAck = false
        guard !acked else { return }
        acked = true
        scenario.chaos.succeeded(sentNs: attemptSentNs)
        scenario.acked(self)
    }

    /// One attempt failed in a way worth retrying: count it, reopen the connection if it dropped,
    /// send again after a backoff.
    private func failed(_ why: String) {
        awaitingAck = false
        scenario.chaos.failed(sentNs: attemptSentNs)
        scenario.retries.after(ms: scenario.retries.backoffMs(attempt: attempt)) { [unowned self] in
            guard !self.settled else { return }
            if self.overWebSocket, self.client?.isOpen != true { self.reconnect() } else { self.send() }
        }
    }

    private func reconnect() {
        guard !connecting, !scenario.shuttingDown else { return }
        connecting = true
        scenario.connector.connect(token: token, quiet: true) { [unowned self] client in
            self.connecting = false
            guard !self.scenario.shuttingDown else { client?.close(); return }
            guard let client else {
                return self.scenario.retries.after(ms: self.scenario.retries.backoffMs(attempt: self.attempt)) { self.reconnect() }
            }
            self.attach(client)
            self.scenario.chaos.reconnected()
            if self.scheduledNs != 0 && !self.settled { self.send() }
        }
    }

    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {
        MessageScanner.withCompact(bytes) { handle($0) }
    }

    private func handle(_ bytes: UnsafeRawBufferPointer) {
        let type = MessageScanner.string("type", in: bytes)
        if MessageScanner.equals(type, "ack") {
            acksReceived += 1
            // Each attempt is answered at most once; with retries, an attempt given up on (no answer
            // within attemptTimeoutMs) may still be answered after its retry was.
            guard acksReceived <= attempt, awaitingAck || scenario.retrying else { return scenario.run.errors.add("unexpected ack") }
            succeeded()
        } else if MessageScanner.equals(type, "error") {
            let code = (try? JSON.parse(bytes))?["code"]?.string ?? "?"
            if awaitingAck {
                awaitingAck = false
                if scenario.retrying && code == "unavailable" { return failed(code) }
                settled = true
                scenario.ackFailed("ws check-in: \(code)")
            } else {
                scenario.run.errors.add("student error: \(code)")
            }
        }
    }

    func didClose(_ client: WebSocketClient, code: UInt16, reason: String) {
        guard !scenario.shuttingDown else { return }
        if scenario.retrying {
            if awaitingAck { return failed("closed \(code)") }
            // Reopen at once so the device is connected when its check-in is due.
            if !settled { reconnect() }
            return
        }
        if awaitingAck {
            awaitingAck = false
            settled = true
            scenario.ackFailed("ws check-in: closed \(code) \(reason.prefix(40))")
        } else {
            scenario.run.errors.add("student connection closed: \(code) \(reason.prefix(40))")
        }
    }
}

@available(*, unavailable)
extension ClassroomStudent: Sendable {}
