import EventLoop
import WebSocket

/// `idle --clients N --hub-pid PID [--hold-s S]`: N WebSocket connections that only answer the hub's
/// pings. The hub's VmRSS is read before connecting and while holding; the difference over N is the
/// memory one idle connection costs the hub.
final class IdleScenario: Scenario {
    let run: LoadRun
    let clientCount: Int
    let hubPid: Int32
    let holdMs: UInt64
    let connector: Connector

    private var clients: [IdleClient] = []
    private var settled = 0
    private var connected = 0
    private var rssBeforeKiB = 0
    private var rssHoldKiB = 0
    /// `RssAnon`: the heap and stacks without the code pages a first TLS or SHA-1 call maps in once.
    private var anonBeforeKiB = 0
    private var anonHoldKiB = 0
    private var holding = false
    private var holdStartedS: Double = 0
    private var closed = false
    private var timer: LoopTimer?
    private var rssSeries: [(elapsedS: Double, kib: Int)] = []
    private var stallWatch = StallWatch()

    /// Connections settle (handshake buffers freed, allocator caches trimmed) for this long before the
    /// hold measurement starts.
    static let settleMs: UInt64 = 1000

    init(run: LoadRun, clients: Int, hubPid: Int32, holdMs: UInt64) {
        self.run = run
        clientCount = clients
        self.hubPid = hubPid
        self.holdMs = holdMs
        connector = Connector(run: run)
    }

    func start() {
        run.onShutdown { [unowned self] in self.closeAll() }
        guard let before = residentKiB(pid: hubPid) else {
            run.fail("cannot read VmRSS from /proc/\(hubPid)/status: is --hub-pid the hub's process id?")
            return
        }
        rssBeforeKiB = before
        anonBeforeKiB = residentKiB(pid: hubPid, field: "RssAnon:") ?? 0
        rssSeries.append((0, before))
        checkHubHealth(run: run) { [unowned self] in self.connectAll() }
    }

    private func connectAll() {
        // A token for a teacher who watches nothing: the cheapest kind of authenticated connection.
        let token = run.settings.signer.teacher("L\(run.runId).idle", ttlS: Int64(holdMs / 1000) + 7200)
        for _ in 0..<clientCount {
            let client = IdleClient(scenario: self)
            clients.append(client)
            connector.connect(token: token) { [unowned self] ws in
                self.settled += 1
                self.stallWatch.progress()
                if let ws {
                    client.attach(ws)
                    self.connected += 1
                }
                if self.settled == self.clientCount { self.allConnected() }
            }
        }
    }

    private func allConnected() {
        let timer = LoopTimer(loop: run.loop)
        self.timer = timer
        timer.start(timeoutMs: Self.settleMs) { [unowned self] in
            self.holding = true
            self.holdStartedS = Double(self.run.elapsedMs) / 1000
            self.sample()
            self.timer?.start(timeoutMs: self.holdMs) { [unowned self] in
                self.sample()
                self.timer?.close()
                self.timer = nil
                self.run.finish()
            }
        }
    }

    private func sample() {
        guard let rss = residentKiB(pid: hubPid) else {
            run.fail("the hub (pid \(hubPid)) went away while holding \(connected) connections")
            return
        }
        rssSeries.append((Double(run.elapsedMs) / 1000, rss))
        if holding {
            rssHoldKiB = max(rssHoldKiB, rss)
            anonHoldKiB = max(anonHoldKiB, residentKiB(pid: hubPid, field: "RssAnon:") ?? 0)
        }
    }

    func connectionLost(code: UInt16, reason: String) {
        guard !closed else { return }
        connected -= 1
        run.errors.add("idle connection closed: \(code) \(reason.prefix(40))")
    }

    private func closeAll() -> Int {
        closed = true
        var open = 0
        for client in clients where client.client?.isOpen == true { client.client?.close(); open += 1 }
        return open
    }

    // MARK: Scenario

    func tick(elapsedS: Double) {
        guard !closed else { return }
        if holding || settled == clientCount { sample() } else if let rss = residentKiB(pid: hubPid) { rssSeries.append((elapsedS, rss)) }
        if !holding, settled < clientCount, let stalled = stallWatch.check(nowS: elapsedS, limitS: 30) {
            run.fail("connecting made no progress for \(stalled) s (\(settled)/\(clientCount) settled)")
        }
    }

    func progressLine() -> String {
        let rss = rssSeries.last.map { "\($0.kib) KiB" } ?? "-"
        return "connected \(connected)/\(clientCount)  hub rss \(rss) (before \(rssBeforeKiB) KiB)" + (holding ? "  holding" : "")
    }

    func result() -> LoadResult {
        let grownKiB = max(0, rssHoldKiB - rssBeforeKiB)
        var result = LoadResult(scenario: "idle", clients: connected, checkins: nil, errors: run.errors.total,
                                lostEvents: nil, duplicateEvents: nil, ack: nil, event: nil, messagesPerS: nil,
                                hubRssKiB: rssHoldKiB,
                                hubRssPerConnBytes: connected > 0 ? grownKiB * 1024 / connected : nil)
        result.parameters = [("clients", String(clientCount)), ("hub pid", String(hubPid)), ("hold", "\(holdMs / 1000) s"),
                             ("hub", run.settings.hub.url), ("sources", String(max(1, run.settings.sources.count))),
                             ("hub RSS before", "\(rssBeforeKiB) KiB")]
        result.errorKinds = run.errors.sorted
        result.durationS = Double(run.elapsedMs) / 1000
        result.rssSeries = rssSeries
        let anonPerConn = connected > 0 ? max(0, anonHoldKiB - anonBeforeKiB) * 1024 / connected : 0
        result.extraJSON.append(("hub_anon_per_conn_bytes", Array(String(anonPerConn).utf8)))
        result.notes = ["hub_rss_kib is the largest VmRSS seen while holding; per connection = (that − VmRSS before connecting) / open connections",
                        "anonymous memory (RssAnon, no code pages) per connection: \(anonPerConn) bytes",
                        "holding started at \(format(holdStartedS, decimals: 1)) s"]
        return result
    }
}

@available(*, unavailable)
extension IdleScenario: Sendable {}

/// An idle connection: it sends nothing and only answers pings (the client does that itself).
final class IdleClient: WebSocketClientDelegate {
    unowned let scenario: IdleScenario
    private(set) var client: WebSocketClient?

    init(scenario: IdleScenario) { self.scenario = scenario }

    func attach(_ client: WebSocketClient) {
        self.client = client
        client.delegate = self
    }

    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {}

    func didClose(_ client: WebSocketClient, code: UInt16, reason: String) {
        scenario.connectionLost(code: code, reason: reason)
    }
}

@available(*, unavailable)
extension IdleClient: Sendable {}
