import EventLoop
import JSON
import WebSocket

/// `classroom --classes C --students S [--window-s W]`: C teachers create classes through the API and
/// watch them on the hub; C × S students join by code, connect to the hub and check in on a fixed
/// schedule spread evenly over the window, a quarter each by WebSocket+QR, REST+QR, WebSocket+code
/// and REST+code. Latencies run from each check-in's scheduled time: to its ack, and to the teacher's
/// receipt of the matching `checked_in` event.
final class ClassroomScenario: Scenario {
    let run: LoadRun
    let classCount: Int
    let studentsPerClass: Int
    let windowMs: UInt64
    let api: APIClient
    let connector: Connector
    /// Faults to inject and where failures are attributed; idle without --chaos.
    let chaos: ChaosRunner
    let retries: RetryQueue
    /// Refused or unanswered check-ins are retried and dropped clients reconnect (--retry, --chaos).
    let retrying: Bool
    private let ackTimeoutNs: UInt64
    private(set) var teachers: [ClassroomTeacher] = []
    private(set) var students: [ClassroomStudent] = []
    private var studentsById: [String: ClassroomStudent] = [:]

    var ack = LatencyRecorder()
    var event = LatencyRecorder()

    enum Phase { case starting, creatingClasses, joining, checkingIn, draining, auditing, finished }
    private(set) var phase = Phase.starting
    var shuttingDown: Bool { phase == .finished }
    /// Called once when the check-in phase begins (every student has joined and connected).
    var onCheckinsStart: (() -> Void)?

    // Setup progress.
    private var classesReady = 0
    private var nextJoin = 0
    private var joinsInFlight = 0
    private var studentsSettled = 0
    private var studentsConnected = 0
    private var teachersConnected = 0
    private var stallWatch = StallWatch()

    // Check-in progress.
    private var order: [ClassroomStudent] = []
    private var nextCheckin = 0
    private var startNs: UInt64 = 0
    private var windowNs: UInt64 = 0
    private var scheduler: LoopTimer?
    private var outstandingAcks = 0
    private var drainDeadlineNs: UInt64 = 0
    private var lastScheduledNs: UInt64 = 0
    var checkinsAcked = 0
    /// Acked check-ins whose `checked_in` event has not reached the dashboard yet.
    var pendingEvents = 0
    var eventsSeen = 0
    var duplicateEvents = 0
    /// Stored events a dashboard received at or below an offset it had already seen.
    var outOfOrderEvents = 0
    /// Acked check-ins the final attendance export does not show as present or late; nil when the
    /// export could not be read.
    var lostAcked: Int?
    private var checkinsEndedS: Double = 0

    init(run: LoadRun, classes: Int, students: Int, windowMs: UInt64, chaos: ChaosSettings = ChaosSettings()) {
        self.run = run
        classCount = classes
        studentsPerClass = students
        self.windowMs = windowMs
        // Validated by the command: classroom needs the API.
        api = APIClient(run: run, endpoint: run.settings.api!, connections: run.settings.httpConnections)
        connector = Connector(run: run)
        self.chaos = ChaosRunner(run: run, settings: chaos)
        retries = RetryQueue(loop: run.loop)
        retrying = chaos.retry
        // Longest a check-in may wait for its ack (and be retried) after the last one was scheduled
        // before it counts as an error: far beyond any healthy latency, short enough that a run ends.
        ackTimeoutNs = chaos.ackTimeoutMs * 1_000_000
        if retrying { api.retries = retries }
    }

    func start() {
        let ttl = Int64(windowMs / 1000) + 7200
        for c in 0..<classCount {
            let id = "L\(run.runId).t\(c)"
            teachers.append(ClassroomTeacher(scenario: self, index: c, teacherId: id, token: run.settings.signer.teacher(id, ttlS: ttl)))
        }
        run.onShutdown { [unowned self] in self.closeAll() }
        checkHubHealth(run: run) { [unowned self] in
            self.api.start { self.createClasses() }
        }
    }

    // MARK: setup

    private func createClasses() {
        phase = .creatingClasses
        for teacher in teachers {
            var w = JSONWriter(capacity: 128)
            w.beginObject()
            w.field("name", "load \(run.runId) class \(teacher.index)")
            w.field("allow_code_checkin", true)
            // Long enough that the class cannot close mid-run; late_after_s keeps every check-in "present".
            w.field("duration_s", Int(windowMs / 1000) + 3600)
            w.field("late_after_s", Int(windowMs / 1000) + 3600)
            w.endObject()
            api.post("/v1/classes", token: teacher.token, body: w.bytes) { [unowned self] response in
                guard let response, response.isSuccess,
                      let classId = response.body?["class_id"]?.string, let code = response.body?["code"]?.string,
                      let qr = response.body?["qr"]?.string
                else {
                    self.run.fail("POST /v1/classes failed for teacher \(teacher.teacherId): \(response.map { "\($0.status) \($0.errorKind)" } ?? "no response")")
                    return
                }
                teacher.classId = classId
                teacher.code = code
                teacher.qr = qr
                self.connector.connect(token: teacher.token) { client in
                    guard let client else { self.teacherFailed(); return }
                    self.teachersConnected += 1
                    teacher.attach(client)
                }
            }
        }
    }

    func teacherFailed() {
        // Without its dashboard a class's events cannot be measured; the run cannot give its result.
        guard !shuttingDown else { return }
        run.fail("a teacher dashboard could not connect or subscribe (\(run.errors.sorted.first.map { "\($0.0)" } ?? "unknown error")); the hub is not serving")
    }

    func teacherSubscribed() {
        classesReady += 1
        stallWatch.progress()
        if classesReady == classCount { startJoins() }
    }

    private func startJoins() {
        phase = .joining
        for c in 0..<classCount {
            for s in 0..<studentsPerClass {
                let student = ClassroomStudent(scenario: self, teacher: teachers[c], studentId: "L\(run.runId).c\(c).s\(s)")
                students.append(student)
                studentsById[student.studentId] = student
            }
        }
        pumpJoins()
    }

    /// Joins and connects students with at most as many in flight as connects are allowed.
    private func pumpJoins() {
        while joinsInFlight < run.settings.connectConcurrency && nextJoin < students.count && run.fatal == nil {
            let student = students[nextJoin]
            nextJoin += 1
            joinsInFlight += 1
            join(student)
        }
    }

    private func join(_ student: ClassroomStudent) {
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("code", student.teacher.code)
        w.field("student_id", student.studentId)
        w.endObject()
        api.post("/v1/join", token: nil, body: w.bytes) { [unowned self] response in
            guard let response, response.isSuccess, let token = response.body?["access_token"]?.string else {
                self.run.errors.add("join: \(response?.errorKind ?? "no response")")
                self.studentSettled()
                return
            }
            student.token = token
            self.connector.connect(token: token) { client in
                if let client {
                    student.attach(client)
                    self.studentsConnected += 1
                }
                self.studentSettled()
            }
        }
    }

    private func studentSettled() {
        joinsInFlight -= 1
        studentsSettled += 1
        stallWatch.progress()
        if studentsSettled == students.count {
            startCheckins()
        } else {
            pumpJoins()
        }
    }

    // MARK: check-ins

    private func startCheckins() {
        phase = .checkingIn
        onCheckinsStart?()
        var rng = SplitMix64(seed: UInt64(students.count) &* 0x9E37_79B9)
        order = students.filter { $0.client != nil }
        order.shuffle(using: &rng)
        guard !order.isEmpty else { return beginDrain() }
        windowNs = windowMs * 1_000_000
        // A short lead-in so the first check-ins are not already late when the timer first fires.
        startNs = EventLoop.monotonicNs() + 100_000_000
        lastScheduledNs = scheduledNs(order.count - 1)
        let timer = LoopTimer(loop: run.loop)
        scheduler = timer
        chaos.start()
        pumpCheckins()
    }

    private func scheduledNs(_ i: Int) -> UInt64 {
        startNs + UInt64(i) * windowNs / UInt64(order.count)
    }

    /// Sends every check-in whose time has come, then sleeps until the next one is due. A late
    /// timer does not shift the schedule: overdue check-ins go at once and their latency counts from
    /// when they were due.
    private func pumpCheckins() {
        let now = EventLoop.monotonicNs()
        while nextCheckin < order.count && scheduledNs(nextCheckin) <= now {
            let student = order[nextCheckin]
            student.scheduledNs = scheduledNs(nextCheckin)
            outstandingAcks += 1
            student.checkIn(method: CheckinMethod.forIndex(nextCheckin))
            nextCheckin += 1
        }
        guard nextCheckin < order.count else {
            scheduler?.close()
            scheduler = LoopTimer(loop: run.loop)
            scheduler?.start(timeoutMs: 100, repeatMs: 100) { [unowned self] in self.checkAcksDone() }
            checkAcksDone()
            return
        }
        let waitNs = scheduledNs(nextCheckin) - now
        scheduler?.start(timeoutMs: (waitNs + 999_999) / 1_000_000) { [unowned self] in self.pumpCheckins() }
    }

    func acked(_ student: ClassroomStudent) {
        // Given up on at the ack timeout and answered after all: it counts as acked (the record must
        // hold it) but was already settled as an error.
        let late = student.settled
        student.settled = true
        ack.record(nanoseconds: EventLoop.monotonicNs() &- student.scheduledNs)
        checkinsAcked += 1
        if !student.eventSeen { pendingEvents += 1 }
        if !late { ackSettled() }
    }

    func ackFailed(_ kind: String) {
        run.errors.add(kind)
        ackSettled()
    }

    private func ackSettled() {
        outstandingAcks -= 1
        if phase == .checkingIn { checkAcksDone() } else if phase == .draining { checkDrained() }
    }

    private func checkAcksDone() {
        guard phase == .checkingIn, nextCheckin == order.count else { return }
        if outstandingAcks > 0 {
            guard EventLoop.monotonicNs() > lastScheduledNs + ackTimeoutNs else { return }
            for _ in 0..<outstandingAcks { run.errors.add("check-in ack timeout") }
            for student in order where !student.settled { student.settled = true }
            outstandingAcks = 0
        }
        beginDrain()
    }

    /// Every check-in is answered: wait up to the grace period for dashboard events still on the way.
    private func beginDrain() {
        phase = .draining
        checkinsEndedS = Double(run.elapsedMs) / 1000
        scheduler?.close()
        drainDeadlineNs = EventLoop.monotonicNs() + run.settings.graceMs * 1_000_000
        let timer = LoopTimer(loop: run.loop)
        scheduler = timer
        timer.start(timeoutMs: 50, repeatMs: 50) { [unowned self] in self.checkDrained() }
        checkDrained()
    }

    private func checkDrained() {
        guard phase == .draining else { return }
        guard pendingEvents == 0 || EventLoop.monotonicNs() >= drainDeadlineNs else { return }
        phase = .auditing
        scheduler?.close()
        scheduler = nil
        chaos.stop()
        audit(deadlineNs: EventLoop.monotonicNs() + ackTimeoutNs) { [unowned self] lost in
            self.lostAcked = lost
            self.phase = .finished
            self.run.finish()
        }
    }

    /// A teacher's dashboard received `checked_in` for `studentId`.
    func checkedInEvent(studentId: UnsafeRawBufferPointer) {
        guard let student = studentsById[String(studentId)] else {
            run.errors.add("event for an unknown student")
            return
        }
        if student.eventSeen {
            duplicateEvents += 1
            return
        }
        student.eventSeen = true
        eventsSeen += 1
        if student.scheduledNs != 0 {
            event.record(nanoseconds: EventLoop.monotonicNs() &- student.scheduledNs)
        }
        if student.acked {
            pendingEvents -= 1
            if phase == .draining { checkDrained() }
        }
    }

    private func closeAll() -> Int {
        phase = .finished
        chaos.stop()
        retries.close()
        var open = 0
        for teacher in teachers where teacher.client?.isOpen == true { teacher.client?.close(); open += 1 }
        for student in students where student.client?.isOpen == true { student.client?.close(); open += 1 }
        return open + api.close()
    }

    // MARK: Scenario

    func tick(elapsedS: Double) {
        ack.tick(elapsedS: elapsedS)
        event.tick(elapsedS: elapsedS)
        if phase == .creatingClasses || phase == .joining {
            if let stalled = stallWatch.check(nowS: elapsedS, limitS: 30) {
                run.fail("setup made no progress for \(stalled) s (classes ready \(classesReady)/\(classCount), students settled \(studentsSettled)/\(students.count)); is the api or hub overloaded?")
            }
        }
    }

    func progressLine() -> String {
        let total = classCount * studentsPerClass
        var line = "classes \(classesReady)/\(classCount)  joined+connected \(studentsConnected)/\(total)"
        if phase == .checkingIn || phase == .draining || phase == .auditing || phase == .finished {
            line += "  checked in \(checkinsAcked)/\(order.count)  events \(eventsSeen)"
            line += "  p99 ack \(ack.liveP99) event \(event.liveP99)"
            if retrying { line += "  retries \(chaos.retries) reconnects \(chaos.reconnects)" }
            if phase == .auditing { line += "  reading the attendance exports" }
        }
        return line
    }

    func result() -> LoadResult {
        if outOfOrderEvents > 0 { for _ in 0..<outOfOrderEvents { run.errors.add("dashboard event out of order") } }
        var result = LoadResult(scenario: "classroom", clients: classCount * (studentsPerClass + 1), checkins: order.count,
                                errors: run.errors.total, lostEvents: pendingEvents, duplicateEvents: duplicateEvents,
                                ack: ack, event: event)
        result.acked = checkinsAcked
        result.lostAcked = lostAcked
        if retrying {
            result.retries = chaos.retries
            result.reconnects = chaos.reconnects
            result.faults = chaos.records
        }
        result.parameters = [("classes", String(classCount)), ("students per class", String(studentsPerClass)),
                             ("window", "\(windowMs / 1000) s"), ("hub", run.settings.hub.url),
                             ("api", run.settings.api?.url ?? "-"), ("sources", String(max(1, run.settings.sources.count))),
                             ("http connections", String(run.settings.httpConnections)),
                             ("grace", "\(run.settings.graceMs / 1000) s")]
        result.errorKinds = run.errors.sorted
        result.durationS = Double(run.elapsedMs) / 1000
        result.notes = ["check-ins: 1/4 each WebSocket+QR, REST+QR, WebSocket+code, REST+code; latencies from the scheduled send time",
                        "check-in phase ended at \(format(checkinsEndedS, decimals: 1)) s"]
        return result
    }
}

@available(*, unavailable)
extension ClassroomScenario: Sendable {}

/// How one check-in is made; the mix cycles so each way gets a quarter.
enum CheckinMethod {
    case websocketQR, restQR, websocketCode, restCode

    static func forIndex(_ i: Int) -> CheckinMethod {
        switch i % 4 {
        case 0: .websocketQR
        case 1: .restQR
        case 2: .websocketCode
        default: .restCode
        }
    }

    var usesQR: Bool { self == .websocketQR || self == .restQR }
}

/// Notices when setup stops making progress, so a run against a wedged server ends with a message.
struct StallWatch {
    private var lastProgressS: Double = 0
    private var progressed = true

    mutating func progress() { progressed = true }

    /// Seconds without progress once they exceed `limitS`, else nil.
    mutating func check(nowS: Double, limitS: Double) -> Int? {
        if progressed {
            progressed = false
            lastProgressS = nowS
            return nil
        }
        return nowS - lastProgressS > limitS ? Int(nowS - lastProgressS) : nil
    }
}

/// A small deterministic generator, so a run's check-in order is reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
