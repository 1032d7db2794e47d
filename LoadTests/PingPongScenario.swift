import EventLoop
import Glibc

/// `pingpong --clients N [--depth D] [--duration-s S]`: N connections, each keeping D
/// `{"type":"ping","id":"k"}` in flight for S seconds (all D sent at once, one more for each pong).
/// Measures pongs per second and request → pong latency. It is a closed loop: a slower server gets
/// fewer requests rather than longer queues, so latency is taken from each ping's send time and
/// describes the server at the load it managed, not at a fixed offered rate.
final class PingPongScenario: Scenario {
    let run: LoadRun
    let clientCount: Int
    let depth: Int
    let durationMs: UInt64
    let batch: PingBatch

    /// True while answers to pongs are sent.
    private(set) var sending = false
    private var measuring = false
    private var connections: [PingPongConnection] = []
    private var nextConnect = 0
    private var inFlight = 0
    private var settled = 0
    private var opened = 0
    private var lost = 0
    private var pongs = 0
    private var pongsAtLastTick = 0
    private var lastTickS: Double = 0
    private var rateNow: Double = 0
    private var windowStartNs: UInt64 = 0
    private var windowNs: UInt64 = 0
    private var cpuAtStart = CPUTime.now()
    private var cpuInWindow: Double = 0
    private var latency = LatencyRecorder()
    private var timer: LoopTimer?
    private var stallWatch = StallWatch()
    private var finished = false
    private var upgradePath = ""

    init(run: LoadRun, clients: Int, depth: Int, durationMs: UInt64) {
        self.run = run
        clientCount = clients
        self.depth = depth
        self.durationMs = durationMs
        batch = PingBatch(depth: depth)
    }

    func start() {
        run.onShutdown { [unowned self] in self.closeAll() }
        // No GET /healthz first: the scenario also measures reference servers that serve only WebSockets;
        // a refused connect fails the run with one message instead.
        let token = run.settings.signer.teacher("L\(run.runId).pingpong", ttlS: Int64(durationMs / 1000) + 7200)
        let path = run.settings.hub.path + "?access_token=" + token
        connections.reserveCapacity(clientCount)
        for _ in 0..<clientCount { connections.append(PingPongConnection(scenario: self, batch: batch)) }
        upgradePath = path
        pumpConnects()
    }

    /// At most `--connect-concurrency` connects and upgrades at once, round-robin over the sources.
    private func pumpConnects() {
        let endpoint = run.settings.hub
        let sources = run.settings.sources
        while inFlight < run.settings.connectConcurrency && nextConnect < clientCount && run.fatal == nil {
            let connection = connections[nextConnect]
            let source = sources.isEmpty ? nil : sources[nextConnect % sources.count]
            nextConnect += 1
            inFlight += 1
            connection.connect(address: endpoint.address, source: source, host: endpoint.hostHeader, path: upgradePath)
        }
    }

    /// Exactly once per connection: open (`failure` and `kind` nil), refused, or failed with `kind`.
    func connectionSettled(_ connection: PingPongConnection, failure: UVError?, kind: String?) {
        inFlight -= 1
        settled += 1
        stallWatch.progress()
        if let failure {
            if run.failIfResourceExhausted(failure, target: "the server at \(run.settings.hub.url)") { return }
            run.errors.add("ws connect: \(failure.name)")
        } else if let kind {
            run.errors.add(kind)
        } else {
            opened += 1
        }
        if settled == clientCount { allSettled() } else { pumpConnects() }
    }

    private func allSettled() {
        guard opened > 0 else {
            let first = run.errors.sorted.first.map { "\($0.0) ×\($0.1)" } ?? "no reason"
            run.fail("no WebSocket connection to \(run.settings.hub.url) opened (\(first))")
            return
        }
        sending = true
        measuring = true
        cpuAtStart = CPUTime.now()
        windowStartNs = EventLoop.monotonicNs()
        for connection in connections { connection.startPinging(nowNs: windowStartNs) }
        let timer = LoopTimer(loop: run.loop)
        self.timer = timer
        timer.start(timeoutMs: durationMs) { [unowned self] in self.endWindow() }
    }

    private func endWindow() {
        windowNs = EventLoop.monotonicNs() - windowStartNs
        cpuInWindow = CPUTime.now() - cpuAtStart
        measuring = false
        sending = false
        timer?.close()
        timer = nil
        finished = true
        run.finish()
    }

    /// `count` pongs with the same latency.
    @inline(__always)
    func record(latencyNs: UInt64, count: UInt64) {
        guard measuring else { return }
        latency.record(nanoseconds: latencyNs, count: count)
    }

    /// A read's pongs.
    @inline(__always)
    func received(pongs count: Int) {
        guard measuring else { return }
        pongs += count
    }

    func connectionLost(reason: String) {
        guard !finished else { return }
        lost += 1
        run.errors.add(reason)
    }

    private func closeAll() -> Int {
        var open = 0
        for connection in connections where connection.close() { open += 1 }
        return open
    }

    // MARK: Scenario

    func tick(elapsedS: Double) {
        latency.tick(elapsedS: elapsedS)
        if measuring {
            rateNow = Double(pongs - pongsAtLastTick) / max(0.001, elapsedS - lastTickS)
        }
        pongsAtLastTick = pongs
        lastTickS = elapsedS
        if !measuring && !finished && settled < clientCount, let stalled = stallWatch.check(nowS: elapsedS, limitS: 30) {
            run.fail("connecting made no progress for \(stalled) s (\(settled)/\(clientCount) settled)")
        }
    }

    func progressLine() -> String {
        "open \(opened - lost)/\(clientCount)  pongs/s \(format(rateNow, decimals: 0))  p99 \(latency.liveP99)"
    }

    func result() -> LoadResult {
        let seconds = Double(windowNs) / 1e9
        let rate = seconds > 0 ? Double(pongs) / seconds : 0
        var result = LoadResult(scenario: "pingpong", clients: opened, checkins: nil, errors: run.errors.total,
                                lostEvents: nil, duplicateEvents: nil, ack: latency, event: nil, messagesPerS: rate,
                                hubRssKiB: nil, hubRssPerConnBytes: nil)
        result.ackLabel = "ping → pong (closed loop, from send)"
        result.parameters = [("clients", String(clientCount)), ("depth", String(depth)),
                             ("duration", "\(durationMs / 1000) s"), ("server", run.settings.hub.url),
                             ("sources", String(max(1, run.settings.sources.count))),
                             ("pongs in window", String(pongs))]
        result.errorKinds = run.errors.sorted
        result.durationS = Double(run.elapsedMs) / 1000
        result.notes = [
            "closed loop: each connection keeps \(depth) ping(s) in flight and sends the next only when a pong arrives, so latency is measured from each ping's send time at the load the server sustained (not coordinated-omission safe at a fixed rate)",
            "messages_per_s = pongs received in the \(format(seconds, decimals: 2)) s window / its length",
            "pings are masked with one fixed key, built once (RFC 6455 requires masking; key unpredictability only protects intermediaries, of which there are none here)",
            "tool CPU in the window: \(format(cpuInWindow, decimals: 2)) s = \(format(seconds > 0 ? 100 * cpuInWindow / seconds : 0, decimals: 0)) % of one core (near 100 % means the tool, not the server, may be the limit)",
        ]
        return result
    }
}

@available(*, unavailable)
extension PingPongScenario: Sendable {}

/// This process's user + system CPU time in seconds.
enum CPUTime {
    static func now() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
