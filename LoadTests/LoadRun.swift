import EventLoop
import Glibc

/// What every scenario implements: start on the run's loop, describe progress, produce the result.
protocol Scenario: AnyObject {
    /// Begins the scenario; it calls `run.finish()` when it is done (or `run.fail` when it cannot go on).
    func start()
    /// One line for the live progress display.
    func progressLine() -> String
    /// Called once a second before `progressLine`, to close per-second latency buckets.
    func tick(elapsedS: Double)
    /// Called once after the loop stopped normally.
    func result() -> LoadResult
}

/// The shared state of one run: its loop, settings, error counts, the progress line and how it ends.
final class LoadRun {
    let loop: EventLoop
    let settings: RunSettings
    let errors = ErrorCounter()
    /// Six base-36 characters that make this run's teacher and student ids unique, so runs against
    /// the same Redis never collide.
    let runId: String
    let startNs = EventLoop.monotonicNs()
    private(set) var fatal: LoadError?
    private var progressTimer: LoopTimer?
    private var shutdownTimer: LoopTimer?
    private var closers: [() -> Int] = []
    private let stderrIsTTY = isatty(2) == 1
    weak var scenario: Scenario?

    init(loop: EventLoop, settings: RunSettings) {
        self.loop = loop
        self.settings = settings
        runId = String(UInt32.random(in: 0...UInt32.max) % 2_176_782_336, radix: 36)
    }

    /// Raises the descriptor limit, runs `make`'s scenario on a new loop until it finishes, and returns
    /// its result; throws the one clear error that stopped it early.
    static func execute(settings: RunSettings, _ make: (LoadRun) -> Scenario) throws -> LoadResult {
        let limit = EventLoop.raiseOpenFileLimit()
        let loop: EventLoop
        do { loop = try EventLoop() } catch { throw LoadError("cannot create the event loop: \(error)") }
        let run = LoadRun(loop: loop, settings: settings)
        run.openFileLimit = limit
        let scenario = make(run)
        run.scenario = scenario
        run.startProgress()
        scenario.start()
        loop.run()
        // The loop is never deinitialized: its deinit would run the close callbacks of connections
        // still closing, whose delegates point (unowned) at a scenario being released. The process
        // ends right after the report is written, so the memory goes back to the system anyway.
        _ = Unmanaged.passRetained(loop)
        run.stopProgress()
        if let fatal = run.fatal { throw fatal }
        // Close the last partial second of the latency time series.
        scenario.tick(elapsedS: Double(run.elapsedMs) / 1000)
        let result = scenario.result()
        run.printSummary(result)
        return withExtendedLifetime(scenario) { result }
    }

    private(set) var openFileLimit = 0

    var elapsedMs: UInt64 { (EventLoop.monotonicNs() - startNs) / 1_000_000 }

    /// Registers something to close when the run ends; it returns how many connections it closed.
    func onShutdown(_ closer: @escaping () -> Int) { closers.append(closer) }

    /// Ends the run normally: closes every client, lets the closing handshakes finish briefly, stops.
    func finish() {
        guard shutdownTimer == nil else { return }
        stopProgress()
        var open = 0
        for closer in closers { open += closer() }
        closers = []
        let timer = LoopTimer(loop: loop)
        shutdownTimer = timer
        // Closing handshakes of thousands of clients take a moment; the result does not wait longer.
        timer.start(timeoutMs: open > 0 ? 1500 : 0) { [unowned self] in
            timer.close()
            self.loop.stop()
        }
    }

    /// Ends the run with one clear message (unreachable server, out of descriptors or ports).
    func fail(_ message: String) {
        guard fatal == nil else { return }
        fatal = LoadError(message)
        if stderrIsTTY { writeStderr("\n") }
        stopProgress()
        loop.stop()
    }

    /// Translates a failed connect into a fatal error when no later connect can succeed either.
    /// Returns true when the run was failed.
    @discardableResult
    func failIfResourceExhausted(_ error: UVError, target: String) -> Bool {
        switch error {
        case .tooManyOpenFiles:
            fail("out of file descriptors (RLIMIT_NOFILE is \(openFileLimit)); raise the hard limit (ulimit -Hn) or run fewer clients")
        case .addressNotAvailable:
            fail("out of local ports toward \(target); spread connections with --sources N (127.0.0.1 … 127.0.0.N)")
        case .connectionRefused:
            fail("\(target) refused the connection: is it running?")
        default:
            if error.name == "ENFILE" { fail("the system file table is full (ENFILE)"); return true }
            if error.name == "ENOBUFS" || error.name == "ENOMEM" { fail("out of kernel memory for sockets (\(error))"); return true }
            return false
        }
        return true
    }

    // MARK: progress

    private func startProgress() {
        let timer = LoopTimer(loop: loop)
        progressTimer = timer
        timer.start(timeoutMs: 1000, repeatMs: 1000) { [unowned self] in
            guard let scenario = self.scenario else { return }
            let elapsed = Double(self.elapsedMs) / 1000
            scenario.tick(elapsedS: elapsed)
            let line = "[\(pad(Int(elapsed.rounded()), 4)) s] " + scenario.progressLine() + "  errors \(self.errors.total)"
            if self.stderrIsTTY {
                writeStderr("\r\u{1B}[K" + line)
            } else {
                writeStderr(line + "\n")
            }
        }
    }

    private func stopProgress() {
        guard let timer = progressTimer else { return }
        progressTimer = nil
        timer.close()
        if stderrIsTTY { writeStderr("\n") }
    }

    private func printSummary(_ result: LoadResult) {
        var lines = ["\(result.scenario): clients \(result.clients.map(String.init) ?? "-")"
                     + (result.checkins.map { ", check-ins \($0)" } ?? "")
                     + ", errors \(result.errors)"
                     + (result.lostEvents.map { ", lost events \($0)" } ?? "")
                     + (result.duplicateEvents.map { ", duplicate events \($0)" } ?? "")]
        if let ack = result.ackLatency { lines.append("  \(result.ackLabel) latency ms: \(ack.line)") }
        if let event = result.eventLatency { lines.append("  \(result.eventLabel) latency ms: \(event.line)") }
        if let rate = result.messagesPerS { lines.append("  delivered messages/s: \(format(rate, decimals: 0))") }
        if let rss = result.hubRssKiB { lines.append("  hub RSS: \(rss) KiB, per connection: \(result.hubRssPerConnBytes.map(String.init) ?? "-") bytes") }
        if let acked = result.acked {
            lines.append("  acked \(acked), lost acked \(result.lostAcked.map(String.init) ?? "unknown (export unreadable)")"
                         + (result.retries.map { ", retries \($0)" } ?? "") + (result.reconnects.map { ", reconnects \($0)" } ?? ""))
        }
        for record in result.faults ?? [] {
            lines.append("  fault \(record.fault.label) at \(format(Double(record.fault.atMs) / 1000, decimals: 1)) s: failed \(record.failed), outage "
                         + (record.outageMs.map { "\($0) ms" } ?? "-") + ", slowest failure \(record.slowestFailureNs / 1_000_000) ms, recovered "
                         + (record.recoverMs.map { "\($0) ms after restore" } ?? "never") + (record.note.map { " (\($0))" } ?? ""))
        }
        for (kind, count) in errors.sorted { lines.append("  error \(kind): \(count)") }
        for note in result.notes { lines.append("  note: \(note)") }
        writeStderr(lines.joined(separator: "\n") + "\n")
    }
}

@available(*, unavailable)
extension LoadRun: Sendable {}

/// Errors by kind; the total goes into the result, the kinds into the summary and the HTML report.
final class ErrorCounter {
    private var counts: [String: Int] = [:]
    private(set) var total = 0

    func add(_ kind: String) {
        counts[kind, default: 0] += 1
        total += 1
    }

    var sorted: [(String, Int)] { counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) } }
}

@available(*, unavailable)
extension ErrorCounter: Sendable {}

/// Right-aligns `value` in `width` characters.
func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// `value` with exactly `decimals` digits after the point (no Foundation in this tool).
func format(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "-" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return String(value) }
    let whole = UInt64(scaled)
    let factor = UInt64(scale)
    let sign = value < 0 && whole > 0 ? "-" : ""
    if decimals == 0 { return sign + String(whole) }
    var fraction = String(whole % factor)
    while fraction.count < decimals { fraction = "0" + fraction }
    return sign + String(whole / factor) + "." + fraction
}

/// Writes to file descriptor 2 directly (the C `stderr` global is not concurrency-safe in Swift 6).
func writeStderr(_ text: String) {
    var text = text
    text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 { return }
            offset += n
        }
    }
}
