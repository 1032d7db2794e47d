import EventLoop
import JSON
import WebSocket

/// What one attacker did and what the servers did to it: `sent` in `unit`, and each outcome counted
/// ("closed 1008 rate limit exceeded", "reply rate_limited", "http 429", "reset by hub", …).
final class AttackerReport {
    let name: String
    let unit: String
    var sent = 0
    var connections = 0
    private(set) var outcomes: [String: Int] = [:]

    init(name: String, unit: String) {
        self.name = name
        self.unit = unit
    }

    func count(_ outcome: String) { outcomes[outcome, default: 0] += 1 }

    var sortedOutcomes: [(String, Int)] { outcomes.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) } }

    func write(_ w: inout JSONWriter) {
        w.beginObject()
        w.field("connections", connections)
        w.field("sent", sent)
        w.field("unit", unit)
        w.key("outcomes")
        w.beginObject()
        for (outcome, n) in sortedOutcomes { w.field(outcome, n) }
        w.endObject()
        w.endObject()
    }
}

/// The attacks of `attendance-load hostile`, all on the run's loop beside the well-behaved clients.
/// Each keeps attacking until `stop()`; none counts toward the run's errors (they are expected to fail).
final class Attackers {
    let run: LoadRun
    let sizes: HostileSizes
    let reports: [AttackerReport]
    private let pingFlood = AttackerReport(name: "ping_flood", unit: "bytes")
    private let subscribeFlood = AttackerReport(name: "subscribe_flood", unit: "messages")
    private let slowLoris = AttackerReport(name: "slow_loris", unit: "bytes")
    private let connectDrop = AttackerReport(name: "connect_drop", unit: "connections")
    private let oversized = AttackerReport(name: "oversized_frames", unit: "messages")
    private let restGuess = AttackerReport(name: "rest_wrong_code", unit: "requests")
    private let wsGuess = AttackerReport(name: "ws_wrong_code", unit: "messages")
    private var stopped = false
    private var timers: [LoopTimer] = []
    private var sockets: [TCPConnection] = []
    private var clients: [WebSocketClient] = []
    private var delegates: [AttackClient] = []
    private let api: APIClient?

    init(run: LoadRun, sizes: HostileSizes) {
        self.run = run
        self.sizes = sizes
        reports = [pingFlood, subscribeFlood, slowLoris, connectDrop, oversized, restGuess, wsGuess]
        api = run.settings.api.map { APIClient(run: run, endpoint: $0, connections: 2, source: sizes.source) }
    }

    /// `classId`/`code`: a class of the well-behaved load, whose code a student guesser has joined with.
    func start(classId: String, code: String) {
        run.onShutdown { [unowned self] in self.stop() }
        startPingFlood()
        startSubscribeFlood()
        for _ in 0..<sizes.slowLoris { startSlowLoris() }
        startConnectDrop()
        every(ms: 1000) { [unowned self] in self.sendOversized() }
        api?.start { [unowned self] in
            self.every(ms: 100) { self.guessOverREST() }
            self.joinAndGuessOverWebSocket(classId: classId, code: code)
        }
    }

    /// Closes everything; returns how many connections were still open.
    func stop() -> Int {
        stopped = true
        // Closes from here on are ours, not the servers' answers.
        for delegate in delegates { delegate.muted = true }
        for timer in timers { timer.close() }
        timers = []
        var open = 0
        for socket in sockets where socket.isOpen { socket.close(); open += 1 }
        for client in clients where client.isOpen { client.disconnect(); open += 1 }
        sockets = []
        clients = []
        return open + (api?.close() ?? 0)
    }

    private func every(ms: UInt64, _ action: @escaping () -> Void) {
        let timer = LoopTimer(loop: run.loop)
        timers.append(timer)
        timer.start(timeoutMs: ms, repeatMs: ms) { [weak self] in
            guard let self, !self.stopped else { return }
            action()
        }
    }

    private func after(ms: UInt64, _ action: @escaping () -> Void) {
        let timer = LoopTimer(loop: run.loop)
        timers.append(timer)
        timer.start(timeoutMs: ms) { [weak self] in
            guard let self, !self.stopped else { return }
            action()
        }
    }

    private var upgradeRequest: String {
        "GET \(run.settings.hub.path)?access_token=\(run.settings.signer.teacher("L\(run.runId).attacker", ttlS: 7200)) HTTP/1.1\r\n"
            + "Host: \(run.settings.hub.hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    }

    /// A raw connection to the hub; `ready` runs once connected.
    private func rawConnect(_ report: AttackerReport, _ ready: @escaping (TCPConnection) -> Void) {
        TCPConnection.connect(loop: run.loop, to: run.settings.hub.address, from: sizes.source) { [weak self] result in
            guard let self, !self.stopped else {
                if case .success(let tcp) = result { tcp.close() }
                return
            }
            switch result {
            case .success(let tcp):
                report.connections += 1
                self.sockets.removeAll { !$0.isOpen }
                self.sockets.append(tcp)
                ready(tcp)
            case .failure(let error):
                report.count("connect failed \(error.name)")
            }
        }
    }

    // MARK: ping flood: WebSocket ping frames, never reading a pong

    private func startPingFlood() {
        rawConnect(pingFlood) { [unowned self] tcp in
            let watcher = RawWatcher { [weak self] outcome in
                guard let self, !self.stopped else { return }
                self.pingFlood.count(outcome)
                // Keep the pressure on: flood again with a new connection.
                self.after(ms: 200) { self.startPingFlood() }
            }
            watcher.stopAfterHead = true
            tcp.delegate = watcher
            tcp.write(Array(self.upgradeRequest.utf8))
            tcp.startReading()
            var block: [UInt8] = []
            // Masked (as a client must) with any key: the payload's content does not matter.
            let ping: [UInt8] = [0x89, 0x80 | 125, 1, 2, 3, 4] + [UInt8](repeating: 0, count: 125)
            for _ in 0..<256 { block += ping }
            let timer = LoopTimer(loop: self.run.loop)
            self.timers.append(timer)
            timer.start(timeoutMs: 5, repeatMs: 2) { [weak self, weak tcp] in
                guard let self, let tcp, tcp.isOpen, !self.stopped else { timer.stop(); return }
                // Keeps this side's own queue small: the point is the hub's queue, not ours.
                guard watcher.upgraded, tcp.queuedBytes < 256 << 10 else { return }
                tcp.write(block)
                self.pingFlood.sent += block.count
            }
        }
    }

    // MARK: subscribe flood: 5,000 subscribe/unsubscribe pairs at once, again after each close

    private func startSubscribeFlood() {
        let classId = "L\(run.runId).nonexistent"
        wsConnect(subscribeFlood) { [unowned self] client in
            // Written in one loop turn: the frames leave as one burst.
            for i in 0..<self.sizes.subscribePairs {
                client.sendText(#"{"type":"subscribe","class_id":"\#(classId)","id":\#(i)}"#)
                client.sendText(#"{"type":"unsubscribe","class_id":"\#(classId)"}"#)
            }
            self.subscribeFlood.sent += 2 * self.sizes.subscribePairs
        } closed: { [unowned self] in
            self.after(ms: 500) { self.startSubscribeFlood() }
        }
    }

    // MARK: slow loris: a request head one byte a second

    private func startSlowLoris() {
        rawConnect(slowLoris) { [unowned self] tcp in
            let startedMs = self.run.elapsedMs
            let watcher = RawWatcher { [weak self] outcome in
                guard let self, !self.stopped else { return }
                self.slowLoris.count(outcome)
                self.slowLoris.count("held the socket \((self.run.elapsedMs - startedMs + 500) / 1000) s")
                self.after(ms: 100) { self.startSlowLoris() }
            }
            tcp.delegate = watcher
            tcp.startReading()
            let head = Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)
            var next = 0
            let timer = LoopTimer(loop: self.run.loop)
            self.timers.append(timer)
            timer.start(timeoutMs: 0, repeatMs: 1000) { [weak self, weak tcp] in
                guard let self, let tcp, tcp.isOpen, !self.stopped else { timer.stop(); return }
                tcp.write([next < head.count ? head[next] : UInt8(ascii: "a")])
                next += 1
                self.slowLoris.sent += 1
            }
        }
    }

    // MARK: connects and drops

    private func startConnectDrop() {
        var started = 0
        var inFlight = 0
        every(ms: 10) { [unowned self] in
            // Spread over about ten seconds, at most 64 at once.
            var budget = max(1, self.sizes.connectDrops / 1000)
            while budget > 0, inFlight < 64, started < self.sizes.connectDrops {
                budget -= 1
                started += 1
                inFlight += 1
                TCPConnection.connect(loop: self.run.loop, to: self.run.settings.hub.address) { result in
                    inFlight -= 1
                    switch result {
                    case .success(let tcp):
                        self.connectDrop.sent += 1
                        self.connectDrop.count("connected and dropped")
                        tcp.close()
                    case .failure(let error):
                        self.connectDrop.count("connect failed \(error.name)")
                    }
                }
            }
        }
    }

    // MARK: oversized frames: one 100 KiB text message (the limit is 64 KiB)

    private func sendOversized() {
        wsConnect(oversized) { [unowned self] client in
            let payload = "\"" + String(repeating: "x", count: 100 << 10) + "\""
            client.sendText(payload)
            self.oversized.sent += 1
        } closed: {}
    }

    // MARK: wrong codes

    private var guess = 0

    private func nextWrongCode() -> String {
        guess += 1
        // Six digits, never the class's own code (the guesser knows nothing; a real code is a lucky hit).
        let n = (guess &* 7919 &+ 104_729) % 1_000_000
        let text = String(n)
        return String(repeating: "0", count: 6 - text.count) + text
    }

    private func guessOverREST() {
        guard let api else { return }
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("code", nextWrongCode())
        w.field("student_id", "L\(run.runId).guesser\(guess)")
        w.endObject()
        restGuess.sent += 1
        api.post("/v1/join", token: nil, body: w.bytes) { [weak self] response in
            guard let self else { return }
            self.restGuess.count(response.map { $0.isSuccess ? "http \($0.status) (a lucky guess)" : "http \($0.status) \($0.errorKind)" } ?? "no response")
        }
    }

    private func joinAndGuessOverWebSocket(classId: String, code: String) {
        guard let api else { return }
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("code", code)
        w.field("student_id", "L\(run.runId).ws-guesser")
        w.endObject()
        api.post("/v1/join", token: nil, body: w.bytes) { [weak self] response in
            guard let self, !self.stopped else { return }
            guard let response, response.isSuccess, let token = response.body?["access_token"]?.string else {
                self.wsGuess.count("join refused \(response?.errorKind ?? "no response")")
                return
            }
            self.guessOverWebSocket(classId: classId, token: token)
        }
    }

    private func guessOverWebSocket(classId: String, token: String) {
        wsConnect(wsGuess, token: token) { [unowned self] client in
            self.every(ms: 100) { [weak client] in
                guard let client, client.isOpen else { return }
                var w = JSONWriter(capacity: 96)
                w.beginObject()
                w.field("type", "checkin")
                w.field("class_id", classId)
                w.field("code", self.nextWrongCode())
                w.endObject()
                client.sendText(w.bytes)
                self.wsGuess.sent += 1
            }
        } closed: {}
    }

    // MARK: helpers

    private func wsConnect(_ report: AttackerReport, token: String? = nil, _ ready: @escaping (WebSocketClient) -> Void,
                           closed: @escaping () -> Void) {
        let token = token ?? run.settings.signer.teacher("L\(run.runId).attacker", ttlS: 7200)
        let hub = run.settings.hub
        WebSocketClient.connect(loop: run.loop, address: hub.address, host: hub.hostHeader,
                                path: hub.path + "?access_token=" + token, source: sizes.source) { [weak self] result in
            guard let self, !self.stopped else {
                if case .success(let client) = result { client.disconnect() }
                return
            }
            switch result {
            case .success(let client):
                report.connections += 1
                let delegate = AttackClient(report: report) { [weak self] in
                    guard let self, !self.stopped else { return }
                    closed()
                }
                self.delegates.removeAll { $0.closed }
                self.delegates.append(delegate)
                client.delegate = delegate
                self.clients.removeAll { !$0.isOpen }
                self.clients.append(client)
                ready(client)
            case .failure(let error):
                report.count("connect failed: \(error)".prefix(80).description)
            }
        }
    }
}

@available(*, unavailable)
extension Attackers: Sendable {}

/// Counts an attacking WebSocket's error replies by code and how it was closed.
final class AttackClient: WebSocketClientDelegate {
    let report: AttackerReport
    let onClose: () -> Void
    private(set) var closed = false
    var muted = false

    init(report: AttackerReport, onClose: @escaping () -> Void) {
        self.report = report
        self.onClose = onClose
    }

    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {
        guard let message = try? JSON.parse(bytes), let type = message["type"]?.string else { return }
        if type == "error" {
            report.count("reply \(message["code"]?.string ?? "error")")
        } else if type != "pong" {
            report.count("reply \(type)")
        }
    }

    func didClose(_ client: WebSocketClient, code: UInt16, reason: String) {
        closed = true
        guard !muted else { return }
        report.count("closed \(code)\(reason.isEmpty ? "" : " " + reason)")
        onClose()
    }
}

/// Watches a raw attacking socket: whether the 101 came, what the hub answered, how it ended.
final class RawWatcher: TCPConnectionDelegate {
    private let onClose: (String) -> Void
    private var head: [UInt8] = []
    private(set) var upgraded = false
    /// Stop reading once the response head is in (a ping flooder never reads its pongs).
    var stopAfterHead = false

    init(onClose: @escaping (String) -> Void) { self.onClose = onClose }

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        guard head.count < 4096 else { return }
        head += bytes.prefix(4096 - head.count)
        if !upgraded, head.starts(with: Array("HTTP/1.1 101".utf8)), head.firstRange(of: [13, 10, 13, 10]) != nil {
            upgraded = true
            if stopAfterHead { connection.stopReading() }
        }
    }

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        if upgraded {
            onClose(error.map { "dropped by hub (\($0.name))" } ?? "closed by hub")
        } else if head.starts(with: Array("HTTP/1.1 ".utf8)), head.count >= 12 {
            onClose("http \(String(decoding: head[9..<12], as: UTF8.self))")
        } else {
            onClose(error.map { "closed without answer (\($0.name))" } ?? "closed without answer")
        }
    }
}

/// How hard `hostile` attacks (small in the smoke test, the issue's sizes by default).
struct HostileSizes {
    var subscribePairs = 5000
    var slowLoris = 20
    var connectDrops = 3000
    /// Where the attackers connect from. Another address than the students' by default: per-address
    /// limits (failures, connections) are meant to stop a guesser without locking out a school, and
    /// a guesser behind the school's own address does lock it out for the failure window (SECURITY.md).
    var source: SocketAddress?
}
