import ArgumentParser
import EventLoop
import Glibc

/// One fault of `--chaos`, e.g. `kill-redis@5s+2s`: what to do, when (seconds after the check-in
/// phase began) and for how long the target stays down before it is restarted or continued.
struct ChaosFault: Equatable {
    enum Kind: String, CaseIterable {
        /// SIGKILL Redis, then run `--redis-restart` after the down time (default 2 s).
        case killRedis = "kill-redis"
        /// SIGSTOP Redis (a stall: connections stay open, nothing answers), SIGCONT after the down time (default 10 s).
        case stopRedis = "stop-redis"
        /// SIGKILL the next `--hub-pid`; nothing restarts it, its clients reconnect to the hubs left.
        case killHub = "kill-hub"
        /// SIGKILL `--api-pid`, then run `--api-restart` after the down time (default 2 s).
        case killAPI = "kill-api"

        var defaultDownMs: UInt64 {
            switch self {
            case .killRedis, .killAPI: 2000
            case .stopRedis: 10_000
            case .killHub: 0
            }
        }
    }

    let kind: Kind
    let atMs: UInt64
    let downMs: UInt64

    /// Parses `kind@<time>[+<time>],…` where a time is seconds (`5s`, `1.5s`, `5`) or `ms` (`800ms`).
    static func parseList(_ text: String) throws -> [ChaosFault] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: "@", maxSplits: 1)
            guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else {
                throw ValidationError("--chaos: '\(item)' is not <fault>@<time>[+<down time>]; faults: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let times = parts[1].split(separator: "+", maxSplits: 1)
            guard let at = milliseconds(times[0]) else { throw ValidationError("--chaos: bad time in '\(item)' (e.g. 5s, 800ms)") }
            var down = kind.defaultDownMs
            if times.count == 2 {
                guard let d = milliseconds(times[1]), kind != .killHub else {
                    throw ValidationError("--chaos: bad down time in '\(item)' (kill-hub takes none)")
                }
                down = d
            }
            return ChaosFault(kind: kind, atMs: at, downMs: down)
        }.sorted { $0.atMs < $1.atMs }
    }

    private static func milliseconds(_ text: Substring) -> UInt64? {
        var number = text
        var scale = 1000.0
        if number.hasSuffix("ms") { number = number.dropLast(2); scale = 1 } else if number.hasSuffix("s") { number = number.dropLast() }
        guard let value = Double(number), value >= 0, value <= 86_400 else { return nil }
        return UInt64((value * scale).rounded())
    }

    var label: String { kind.rawValue }
}

/// The `--chaos` options of the classroom scenario. The tool starts no server: it signals the
/// processes it is given and runs the restart commands it is given.
struct ChaosOptions: ParsableArguments {
    @Option(help: "Faults to inject, seconds after check-ins begin: kill-redis@5s[+2s], stop-redis@5s[+10s], kill-hub@8s, kill-api@5s[+2s], comma-separated. Implies --retry.")
    var chaos: String?

    @Flag(help: "Retry check-ins that were refused (503 / unavailable) or got no answer, reconnect dropped clients (dashboards resume with `since`).")
    var retry = false

    @Option(help: "Redis server's process id (kill-redis, stop-redis).") var redisPid: Int32?
    @Option(help: "File holding Redis's process id, read at each fault (follows a restarted Redis; wins over --redis-pid).") var redisPidFile: String?
    @Option(help: "Shell command that starts Redis again after kill-redis (same port and data directory; it should daemonize).") var redisRestart: String?
    @Option(parsing: .singleValue, help: "Hub process id; repeat for several hubs (kill-hub kills them in this order).") var hubPid: [Int32] = []
    @Option(help: "API process id (kill-api).") var apiPid: Int32?
    @Option(help: "Shell command that starts the api again after kill-api.") var apiRestart: String?
    @Option(help: "How long after the last scheduled check-in unanswered check-ins are still retried before they count as errors.")
    var ackTimeoutS: Int = 60

    func validate() throws {
        guard (1...3600).contains(ackTimeoutS) else { throw ValidationError("--ack-timeout-s must be 1-3600") }
        for fault in try faults() {
            switch fault.kind {
            case .killRedis:
                guard redisPid != nil || redisPidFile != nil, redisRestart != nil else {
                    throw ValidationError("kill-redis needs --redis-pid (or --redis-pid-file) and --redis-restart")
                }
            case .stopRedis:
                guard redisPid != nil || redisPidFile != nil else { throw ValidationError("stop-redis needs --redis-pid or --redis-pid-file") }
            case .killHub:
                guard !hubPid.isEmpty else { throw ValidationError("kill-hub needs --hub-pid") }
            case .killAPI:
                guard apiPid != nil, apiRestart != nil else { throw ValidationError("kill-api needs --api-pid and --api-restart") }
            }
        }
        let hubKills = try faults().filter { $0.kind == .killHub }.count
        guard hubKills <= hubPid.count else { throw ValidationError("kill-hub appears \(hubKills) times but only \(hubPid.count) --hub-pid given") }
    }

    func faults() throws -> [ChaosFault] { try chaos.map(ChaosFault.parseList) ?? [] }

    func settings() throws -> ChaosSettings {
        ChaosSettings(faults: try faults(), retry: retry || chaos != nil, redisPid: redisPid, redisPidFile: redisPidFile,
                      redisRestart: redisRestart, hubPids: hubPid, apiPid: apiPid, apiRestart: apiRestart,
                      ackTimeoutMs: UInt64(ackTimeoutS) * 1000)
    }
}

struct ChaosSettings {
    var faults: [ChaosFault] = []
    var retry = false
    var redisPid: Int32?
    var redisPidFile: String?
    var redisRestart: String?
    var hubPids: [Int32] = []
    var apiPid: Int32?
    var apiRestart: String?
    var ackTimeoutMs: UInt64 = 60_000
}

/// What one fault did to the clients, for the result's `faults` array.
struct FaultRecord {
    let fault: ChaosFault
    var injectedNs: UInt64 = 0
    /// When the target was restarted or continued (the injection itself for kill-hub).
    var restoredNs: UInt64 = 0
    var pid: Int32 = 0
    /// Attempts (check-ins, subscriptions) answered with unavailable or no answer while this fault was the latest.
    var failed = 0
    var slowestFailureNs: UInt64 = 0
    var lastFailureNs: UInt64 = 0
    var firstSuccessAfterRestoreNs: UInt64 = 0
    var reconnects = 0
    var note: String?

    var outageMs: Int? { injectedNs == 0 ? nil : failed == 0 ? 0 : Int((lastFailureNs &- injectedNs) / 1_000_000) }
    var recoverMs: Int? { firstSuccessAfterRestoreNs == 0 ? nil : Int((firstSuccessAfterRestoreNs &- restoredNs) / 1_000_000) }
}

/// Injects the faults on schedule and attributes client failures and recoveries to the latest one.
final class ChaosRunner {
    private let run: LoadRun
    let settings: ChaosSettings
    private(set) var records: [FaultRecord]
    private var timers: [LoopTimer] = []
    private var nextHub = 0
    private var startNs: UInt64 = 0
    /// Failures and reconnects before any fault (or without --chaos) are counted here only.
    private(set) var retries = 0
    private(set) var reconnects = 0

    init(run: LoadRun, settings: ChaosSettings) {
        self.run = run
        self.settings = settings
        records = settings.faults.map { FaultRecord(fault: $0) }
    }

    /// Schedules every fault relative to now (the start of the check-in phase).
    func start() {
        startNs = EventLoop.monotonicNs()
        for index in records.indices {
            let timer = LoopTimer(loop: run.loop)
            timers.append(timer)
            timer.start(timeoutMs: records[index].fault.atMs) { [unowned self] in self.inject(index) }
        }
    }

    func stop() {
        for timer in timers { timer.close() }
        timers = []
    }

    private var current: Int? {
        records.lastIndex { $0.injectedNs != 0 }
    }

    /// An attempt sent at `sentNs` failed now (refused, unavailable, no answer, dropped).
    func failed(sentNs: UInt64) {
        retries += 1
        guard let i = current else { return }
        let now = EventLoop.monotonicNs()
        records[i].failed += 1
        records[i].lastFailureNs = now
        records[i].slowestFailureNs = max(records[i].slowestFailureNs, now &- sentNs)
    }

    /// An attempt sent at `sentNs` succeeded now.
    func succeeded(sentNs: UInt64) {
        guard let i = current, records[i].restoredNs != 0, records[i].firstSuccessAfterRestoreNs == 0,
              sentNs >= records[i].restoredNs else { return }
        records[i].firstSuccessAfterRestoreNs = EventLoop.monotonicNs()
    }

    func reconnected() {
        reconnects += 1
        if let i = current { records[i].reconnects += 1 }
    }

    private func inject(_ index: Int) {
        let fault = records[index].fault
        records[index].injectedNs = EventLoop.monotonicNs()
        switch fault.kind {
        case .killRedis, .stopRedis:
            guard let pid = redisPid() else { return skip(index, "no Redis process id") }
            records[index].pid = pid
            if fault.kind == .killRedis {
                // A stopped process is continued first so the kill is not delayed.
                kill(pid, SIGCONT)
                kill(pid, SIGKILL)
                later(fault.downMs) { [unowned self] in self.restore(index, command: self.settings.redisRestart) }
            } else {
                kill(pid, SIGSTOP)
                later(fault.downMs) { [unowned self] in
                    kill(pid, SIGCONT)
                    self.records[index].restoredNs = EventLoop.monotonicNs()
                }
            }
        case .killHub:
            guard nextHub < settings.hubPids.count else { return skip(index, "no hub left to kill") }
            let pid = settings.hubPids[nextHub]
            nextHub += 1
            records[index].pid = pid
            kill(pid, SIGKILL)
            records[index].restoredNs = records[index].injectedNs
        case .killAPI:
            guard let pid = settings.apiPid else { return skip(index, "no api process id") }
            records[index].pid = pid
            kill(pid, SIGKILL)
            later(fault.downMs) { [unowned self] in self.restore(index, command: self.settings.apiRestart) }
        }
        writeStderr("chaos: \(fault.label) pid \(records[index].pid) at \(format(Double(records[index].injectedNs &- startNs) / 1e9, decimals: 1)) s\n")
    }

    private func skip(_ index: Int, _ why: String) {
        records[index].note = why
        run.errors.add("chaos \(records[index].fault.label): \(why)")
    }

    private func restore(_ index: Int, command: String?) {
        records[index].restoredNs = EventLoop.monotonicNs()
        guard let command else { return }
        let status = runShell(command)
        if status != 0 {
            records[index].note = "restart command exited \(status)"
            run.errors.add("chaos \(records[index].fault.label): restart command exited \(status)")
        }
    }

    private func later(_ ms: UInt64, _ action: @escaping () -> Void) {
        let timer = LoopTimer(loop: run.loop)
        timers.append(timer)
        timer.start(timeoutMs: ms, action)
    }

    private func redisPid() -> Int32? {
        if let file = settings.redisPidFile, let text = readSmallFile(file),
           let pid = Int32(text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first ?? ""), pid > 0 {
            return pid
        }
        return settings.redisPid
    }
}

@available(*, unavailable)
extension ChaosRunner: Sendable {}

/// Runs `/bin/sh -c command` with this process's environment and waits for it (a restart command
/// that daemonizes returns at once). Returns its exit status, or -1 if it could not start.
func runShell(_ command: String) -> Int32 {
    let environment = readSmallFile("/proc/self/environ")?.split(separator: "\0").map(String.init) ?? []
    let arguments: [String] = ["sh", "-c", command]
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer {
        for p in argv { free(p) }
        for p in envp { free(p) }
    }
    // The command (and a server it daemonizes) gets no descriptor of ours but stderr: an inherited
    // pipe would keep whoever reads this tool's output waiting after it exited.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
    var pid: pid_t = 0
    guard posix_spawn(&pid, "/bin/sh", &actions, nil, &argv, &envp) == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS, which Swift does not import as functions.
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

/// Actions due later, on one timer: thousands of refused check-ins during an outage cost one timer,
/// not one each.
final class RetryQueue {
    private var pending: [(dueNs: UInt64, action: () -> Void)] = []
    private var timer: LoopTimer?
    private let loop: EventLoop
    private var rng = SplitMix64(seed: 0x5EED)

    init(loop: EventLoop) { self.loop = loop }

    /// Exponential backoff with jitter for the `attempt`-th retry: 100 ms doubling to 2 s, ±50 %, so
    /// clients refused together do not all come back in the same millisecond.
    func backoffMs(attempt: Int) -> UInt64 {
        let base = UInt64(min(2000, 100 << min(attempt, 5)))
        return base / 2 + rng.next() % base
    }

    func after(ms: UInt64, _ action: @escaping () -> Void) {
        pending.append((EventLoop.monotonicNs() + ms * 1_000_000, action))
        guard timer == nil else { return }
        let timer = LoopTimer(loop: loop)
        self.timer = timer
        timer.start(timeoutMs: 20, repeatMs: 20) { [unowned self] in self.fire() }
    }

    private func fire() {
        let now = EventLoop.monotonicNs()
        guard pending.contains(where: { $0.dueNs <= now }) else { return }
        let due = pending.filter { $0.dueNs <= now }
        pending.removeAll { $0.dueNs <= now }
        for item in due { item.action() }
    }

    func close() {
        pending = []
        timer?.close()
        timer = nil
    }
}

@available(*, unavailable)
extension RetryQueue: Sendable {}

/// This process's open file descriptors (from /proc/self/fd).
private func openDescriptors() -> [Int32] {
    guard let dir = opendir("/proc/self/fd") else { return [] }
    let own = dirfd(dir)
    var fds: [Int32] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let fd = Int32(name), fd != own { fds.append(fd) }
    }
    closedir(dir)
    return fds
}
