import EventLoop
import JSON
import WebSocket

/// `fanout --classes C --subscribers N [--rate R] [--duration-s D]`: N teacher dashboards spread
/// evenly over C classes; R events per second in total are published through the API for D seconds,
/// each a teacher override of one roster student (a real `status_changed` event from the Lua
/// write-append-publish path). Measures delivered messages per second and delivery latency from each
/// event's scheduled publish time to each subscriber's receipt.
final class FanoutScenario: Scenario {
    /// Each event overrides a different roster student, so events map back to their schedule by
    /// student id; a roster holds at most this many (CreateClassRequest.maxRoster).
    static let maxEventsPerClass = 5000

    let run: LoadRun
    let classCount: Int
    let subscriberCount: Int
    let rate: Int
    let durationMs: UInt64
    let api: APIClient
    let connector: Connector
    let eventCount: Int
    let rosterSize: Int

    private var classIds: [String] = []
    private var teacherTokens: [String] = []
    private var subscribersPerClass: [Int]
    private var subscribers: [FanoutSubscriber] = []
    private var scheduled: [UInt64]
    private var delivered: [UInt32]
    private var acked: [Bool]

    var ack = LatencyRecorder()
    var delivery = LatencyRecorder()

    enum Phase { case starting, creatingClasses, subscribing, publishing, draining, finished }
    private(set) var phase = Phase.starting
    var shuttingDown: Bool { phase == .finished }

    private var classesCreated = 0
    private var subscribed = 0
    private var nextEvent = 0
    private var startNs: UInt64 = 0
    private var scheduler: LoopTimer?
    private var outstanding = 0
    private var ackedCount = 0
    private var lastScheduledNs: UInt64 = 0
    private var drainDeadlineNs: UInt64 = 0
    private var stallWatch = StallWatch()
    /// Unique deliveries of published events (duplicates not included).
    private(set) var deliveries = 0
    private var expectedDeliveries = 0
    private(set) var duplicates = 0
    private var lastDeliveryNs: UInt64 = 0
    private var deliveriesAtLastTick = 0
    private var currentRate = 0

    init(run: LoadRun, classes: Int, subscribers: Int, rate: Int, durationMs: UInt64) {
        self.run = run
        classCount = classes
        subscriberCount = subscribers
        self.rate = rate
        self.durationMs = durationMs
        api = APIClient(run: run, endpoint: run.settings.api!, connections: run.settings.httpConnections)
        connector = Connector(run: run)
        eventCount = rate * Int(durationMs / 1000)
        rosterSize = (eventCount + classes - 1) / classes
        subscribersPerClass = Array(repeating: 0, count: classes)
        for i in 0..<subscribers { subscribersPerClass[i % classes] += 1 }
        scheduled = Array(repeating: 0, count: eventCount)
        delivered = Array(repeating: 0, count: eventCount)
        acked = Array(repeating: false, count: eventCount)
    }

    func start() {
        run.onShutdown { [unowned self] in self.closeAll() }
        checkHubHealth(run: run) { [unowned self] in
            self.api.start { self.createClasses() }
        }
    }

    func studentId(_ slot: Int) -> String { "L\(run.runId).r\(slot)" }

    // MARK: setup

    private func createClasses() {
        phase = .creatingClasses
        let ttl = Int64(durationMs / 1000) + 7200
        classIds = Array(repeating: "", count: classCount)
        for c in 0..<classCount {
            let teacherId = "L\(run.runId).t\(c)"
            teacherTokens.append(run.settings.signer.teacher(teacherId, ttlS: ttl))
            var w = JSONWriter(capacity: 64 + rosterSize * 20)
            w.beginObject()
            w.field("name", "fanout \(run.runId) class \(c)")
            w.field("duration_s", Int(durationMs / 1000) + 3600)
            w.key("roster")
            w.beginArray()
            for slot in 0..<rosterSize { w.string(studentId(slot)) }
            w.endArray()
            w.endObject()
            api.post("/v1/classes", token: teacherTokens[c], body: w.bytes) { [unowned self] response in
                guard let response, response.isSuccess, let classId = response.body?["class_id"]?.string else {
                    self.run.fail("POST /v1/classes failed: \(response.map { "\($0.status) \($0.errorKind)" } ?? "no response")")
                    return
                }
                self.classIds[c] = classId
                self.classesCreated += 1
                self.stallWatch.progress()
                if self.classesCreated == self.classCount { self.subscribeAll() }
            }
        }
    }

    private func subscribeAll() {
        phase = .subscribing
        for i in 0..<subscriberCount {
            let c = i % classCount
            let subscriber = FanoutSubscriber(scenario: self, classIndex: c)
            subscribers.append(subscriber)
            connector.connect(token: teacherTokens[c]) { [unowned self] client in
                guard let client else { return self.subscriberFailed() }
                subscriber.attach(client, classId: self.classIds[c])
            }
        }
    }

    func subscriberFailed() {
        guard !shuttingDown else { return }
        run.fail("a subscriber could not connect or subscribe (\(run.errors.sorted.first.map { $0.0 } ?? "unknown error")); the hub is not serving")
    }

    func subscriberReady() {
        subscribed += 1
        stallWatch.progress()
        if subscribed == subscriberCount { startPublishing() }
    }

    // MARK: publishing

    private func startPublishing() {
        phase = .publishing
        guard eventCount > 0 else { return beginDrain() }
        startNs = EventLoop.monotonicNs() + 100_000_000
        lastScheduledNs = scheduledNs(eventCount - 1)
        scheduler = LoopTimer(loop: run.loop)
        pump()
    }

    private func scheduledNs(_ k: Int) -> UInt64 { startNs + UInt64(k) * 1_000_000_000 / UInt64(rate) }

    /// Publishes every event that is due; the schedule never slips (see ClassroomScenario.pumpCheckins).
    private func pump() {
        let now = EventLoop.monotonicNs()
        while nextEvent < eventCount && scheduledNs(nextEvent) <= now {
            publish(nextEvent)
            nextEvent += 1
        }
        guard nextEvent < eventCount else {
            scheduler?.start(timeoutMs: 100, repeatMs: 100) { [unowned self] in self.checkPublished() }
            return
        }
        let waitNs = scheduledNs(nextEvent) - now
        scheduler?.start(timeoutMs: (waitNs + 999_999) / 1_000_000) { [unowned self] in self.pump() }
    }

    private func publish(_ k: Int) {
        let c = k % classCount
        let slot = k / classCount
        scheduled[k] = scheduledNs(k)
        outstanding += 1
        expectedDeliveries += subscribersPerClass[c]
        api.patch("/v1/classes/\(classIds[c])/attendance/\(studentId(slot))", token: teacherTokens[c],
                  body: Array(#"{"status":"present"}"#.utf8)) { [unowned self] response in
            self.outstanding -= 1
            if let response, response.isSuccess {
                self.acked[k] = true
                self.ackedCount += 1
                self.ack.record(nanoseconds: EventLoop.monotonicNs() &- self.scheduled[k])
            } else {
                self.expectedDeliveries -= self.subscribersPerClass[c]
                self.run.errors.add("override: \(response?.errorKind ?? "no response")")
            }
            if self.phase == .publishing { self.checkPublished() } else if self.phase == .draining { self.checkDrained() }
        }
    }

    /// Longest an override may wait for its answer after the last one was scheduled before it counts
    /// as an error: far beyond any healthy latency, short enough that a run always ends.
    static let ackTimeoutNs: UInt64 = 60_000_000_000

    private func checkPublished() {
        guard phase == .publishing, nextEvent == eventCount else { return }
        if outstanding > 0 {
            guard EventLoop.monotonicNs() > lastScheduledNs + Self.ackTimeoutNs else { return }
            for _ in 0..<outstanding { run.errors.add("override ack timeout") }
            outstanding = 0
        }
        beginDrain()
    }

    private func beginDrain() {
        phase = .draining
        drainDeadlineNs = EventLoop.monotonicNs() + run.settings.graceMs * 1_000_000
        scheduler?.start(timeoutMs: 50, repeatMs: 50) { [unowned self] in self.checkDrained() }
        checkDrained()
    }

    private func checkDrained() {
        guard phase == .draining else { return }
        guard deliveries < expectedDeliveries && EventLoop.monotonicNs() < drainDeadlineNs else {
            phase = .finished
            scheduler?.close()
            scheduler = nil
            run.finish()
            return
        }
    }

    /// A subscriber of class `classIndex` received the `status_changed` event of roster slot `slot`.
    func received(classIndex: Int, slot: Int) {
        let k = slot * classCount + classIndex
        guard k < eventCount, scheduled[k] != 0 else {
            run.errors.add("event that was not published by this run")
            return
        }
        let now = EventLoop.monotonicNs()
        delivery.record(nanoseconds: now &- scheduled[k])
        delivered[k] &+= 1
        deliveries += 1
        lastDeliveryNs = now
        if phase == .draining && deliveries >= expectedDeliveries { checkDrained() }
    }

    func duplicate() { duplicates += 1 }

    private func closeAll() -> Int {
        phase = .finished
        var open = 0
        for subscriber in subscribers where subscriber.client?.isOpen == true { subscriber.client?.close(); open += 1 }
        return open + api.close()
    }

    // MARK: Scenario

    func tick(elapsedS: Double) {
        ack.tick(elapsedS: elapsedS)
        delivery.tick(elapsedS: elapsedS)
        currentRate = deliveries - deliveriesAtLastTick
        deliveriesAtLastTick = deliveries
        if phase == .creatingClasses || phase == .subscribing {
            if let stalled = stallWatch.check(nowS: elapsedS, limitS: 30) {
                run.fail("setup made no progress for \(stalled) s (classes \(classesCreated)/\(classCount), subscribed \(subscribed)/\(subscriberCount))")
            }
        }
    }

    func progressLine() -> String {
        var line = "classes \(classesCreated)/\(classCount)  subscribed \(subscribed)/\(subscriberCount)"
        if phase == .publishing || phase == .draining || phase == .finished {
            line += "  published \(ackedCount)/\(eventCount)  delivered \(deliveries)/\(expectedDeliveries) (\(currentRate)/s)"
            line += "  p99 publish \(ack.liveP99) delivery \(delivery.liveP99)"
        }
        return line
    }

    func result() -> LoadResult {
        var lost = 0
        for k in 0..<eventCount where acked[k] {
            lost += max(0, subscribersPerClass[k % classCount] - Int(delivered[k]))
        }
        let durationNs = max(durationMs * 1_000_000, lastDeliveryNs > startNs ? lastDeliveryNs - startNs : 0)
        var result = LoadResult(scenario: "fanout", clients: subscriberCount, checkins: nil, errors: run.errors.total,
                                lostEvents: lost, duplicateEvents: duplicates, ack: ack, event: delivery,
                                messagesPerS: durationNs > 0 && startNs > 0 ? Double(deliveries) / (Double(durationNs) / 1e9) : nil)
        result.ackLabel = "publish (PATCH override) ack"
        result.eventLabel = "delivery"
        result.parameters = [("classes", String(classCount)), ("subscribers", String(subscriberCount)),
                             ("rate", "\(rate) events/s"), ("duration", "\(durationMs / 1000) s"),
                             ("events", String(eventCount)), ("expected deliveries", String(expectedDeliveries)),
                             ("hub", run.settings.hub.url), ("api", run.settings.api?.url ?? "-"),
                             ("sources", String(max(1, run.settings.sources.count))),
                             ("http connections", String(run.settings.httpConnections))]
        result.errorKinds = run.errors.sorted
        result.durationS = Double(run.elapsedMs) / 1000
        result.notes = ["events are teacher overrides (PATCH /v1/classes/{id}/attendance/{student}) → status_changed through the Lua path, one roster student per event",
                        "messages_per_s = unique deliveries / max(duration, first scheduled → last delivery)"]
        return result
    }
}

@available(*, unavailable)
extension FanoutScenario: Sendable {}

/// A dashboard in the fanout scenario: subscribes to one class and reports each `status_changed`.
/// The hub delivers a class's events in offset order, so an offset not above the last one seen is a
/// duplicate.
final class FanoutSubscriber: DashboardClient {
    unowned let scenario: FanoutScenario
    let classIndex: Int
    private var lastOffset: (UInt64, UInt64) = (0, 0)

    init(scenario: FanoutScenario, classIndex: Int) {
        self.scenario = scenario
        self.classIndex = classIndex
        super.init(run: scenario.run)
    }

    override var label: String { "subscriber" }
    override var isShuttingDown: Bool { scenario.shuttingDown }

    func attach(_ client: WebSocketClient, classId: String) {
        subscribe(client, classId: classId)
    }

    override func eventReceived(_ bytes: UnsafeRawBufferPointer) {
        guard MessageScanner.equals(MessageScanner.string("event", in: bytes), "status_changed") else { return }
        guard let studentId = MessageScanner.string("student_id", in: bytes),
              let slot = MessageScanner.trailingNumber(studentId),
              let offsetBytes = MessageScanner.string("offset", in: bytes),
              let offset = MessageScanner.offset(offsetBytes)
        else {
            scenario.run.errors.add("malformed status_changed event")
            return
        }
        if offset <= lastOffset {
            scenario.duplicate()
            return
        }
        lastOffset = offset
        scenario.received(classIndex: classIndex, slot: slot)
    }

    override func ready() { scenario.subscriberReady() }
    override func failed() { scenario.subscriberFailed() }
}

