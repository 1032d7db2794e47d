import ArgumentParser
import EventLoop

/// `attendance-load <scenario> --hub ws://… --api http://… [--json FILE] [--html FILE]`.
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attendance-load",
        abstract: "Load-test the attendance hub and REST sidecar (scenarios: classroom, fanout, hostile, idle, pingpong).",
        discussion: """
            Every scenario drives all of its clients from one event loop in this process. A live progress \
            line goes to stderr once a second; --json writes the result object of PROTOCOL.md, --html a \
            self-contained report with latency plots.
            """,
        subcommands: [ClassroomCommand.self, FanoutCommand.self, HostileCommand.self, IdleCommand.self, PingPongCommand.self])
}

/// Options every scenario takes.
struct CommonOptions: ParsableArguments {
    @Option(help: "Hub WebSocket URL, e.g. ws://127.0.0.1:8080 (path defaults to /ws).")
    var hub: String

    @Option(help: "REST sidecar URL, e.g. http://127.0.0.1:8081 (required by classroom and fanout).")
    var api: String?

    @Option(help: "Write the result object (PROTOCOL.md) to this file.")
    var json: String?

    @Option(help: "Write a self-contained HTML report with SVG latency plots to this file.")
    var html: String?

    @Option(help: "Spread WebSocket connections over source addresses 127.0.0.1 … 127.0.0.N (each has its own ~28 K ephemeral ports).")
    var sources: Int = 1

    @Option(help: "HS256 secret the tool signs teacher tokens with (env ATTENDANCE_JWT_SECRET; `kid=secret,…` picks the first key).")
    var tokenSecret: String?

    @Option(help: "Keep-alive HTTP connections to the REST sidecar (requests are pipelined over them).")
    var httpConnections: Int = 32

    @Option(help: "WebSocket connects and handshakes in flight at once (keeps the hub's accept backlog from overflowing).")
    var connectConcurrency: Int = 256

    @Option(help: "After the last action, how long to wait for outstanding events before counting them lost.")
    var graceS: Int = 5

    func validate() throws {
        guard (1...254).contains(sources) else { throw ValidationError("--sources must be 1-254") }
        guard (1...1024).contains(httpConnections) else { throw ValidationError("--http-connections must be 1-1024") }
        guard (1...65_536).contains(connectConcurrency) else { throw ValidationError("--connect-concurrency must be 1-65536") }
        guard (0...600).contains(graceS) else { throw ValidationError("--grace-s must be 0-600") }
    }

    /// The development secret every `--dev` process uses (PROTOCOL.md "Command line").
    static let devSecret = "dev-secret-change-me"

    func settings(needsAPI: Bool) throws -> RunSettings {
        let hubEndpoint = try Endpoint.parse(hub, option: "--hub", schemes: ["ws"], defaultPath: "/ws")
        var apiEndpoint: Endpoint?
        if let api {
            apiEndpoint = try Endpoint.parse(api, option: "--api", schemes: ["http"], defaultPath: "")
        } else if needsAPI {
            throw ValidationError("--api http://host:port is required by this scenario")
        }
        var sourceAddresses: [SocketAddress] = []
        if sources > 1 {
            for i in 1...sources {
                // Port 0: the kernel picks a free port per source address.
                guard let address = try? SocketAddress(host: "127.0.0.\(i)", port: 0) else {
                    throw ValidationError("cannot form source address 127.0.0.\(i)")
                }
                sourceAddresses.append(address)
            }
        }
        let secret = tokenSecret ?? getenvString("ATTENDANCE_JWT_SECRET") ?? Self.devSecret
        return RunSettings(hub: hubEndpoint, api: apiEndpoint, sources: sourceAddresses,
                           signer: try TeacherTokens(secretSpec: secret),
                           httpConnections: httpConnections, connectConcurrency: connectConcurrency,
                           graceMs: UInt64(graceS) * 1000)
    }
}

/// Running a scenario and writing its reports, shared by the scenario commands.
extension CommonOptions {
    func execute(needsAPI: Bool, _ make: (LoadRun) -> Scenario) throws {
        try write(LoadRun.execute(settings: settings(needsAPI: needsAPI), make))
    }

    func write(_ result: LoadResult) throws {
        if let json {
            try writeFile(json, ResultJSON.encode(result))
        }
        if let html {
            try writeFile(html, Array(HTMLReport.render(result).utf8))
        }
    }
}

struct ClassroomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classroom",
        abstract: "C classes, one teacher dashboard and S student devices each; students join and check in over the window.")

    @Option(help: "Number of classes (one teacher dashboard each).") var classes: Int
    @Option(help: "Student devices per class.") var students: Int
    @Option(help: "Check-ins are spread evenly over this many seconds.") var windowS: Int = 30
    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Faults") var chaos: ChaosOptions

    func validate() throws {
        guard (1...100_000).contains(classes) else { throw ValidationError("--classes must be 1-100000") }
        guard (1...5000).contains(students) else { throw ValidationError("--students must be 1-5000") }
        guard (1...3600).contains(windowS) else { throw ValidationError("--window-s must be 1-3600") }
    }

    func run() throws {
        let chaosSettings = try chaos.settings()
        try common.execute(needsAPI: true) { run in
            ClassroomScenario(run: run, classes: classes, students: students, windowMs: UInt64(windowS) * 1000,
                              chaos: chaosSettings)
        }
    }
}

struct FanoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "N subscribers over C classes; R events per second published through the API; delivered messages per second.",
        discussion: """
            Events are real `status_changed` events: the tool's teachers override one roster student's \
            status per event (PATCH /v1/classes/{id}/attendance/{student_id}), which runs the same Lua \
            write-append-publish path as check-ins and is not rate limited per address like joins.
            """)

    @Option(help: "Number of classes.") var classes: Int
    @Option(help: "Subscribers (teacher dashboards), spread evenly over the classes.") var subscribers: Int
    @Option(help: "Events per second, in total over all classes.") var rate: Int = 100
    @Option(help: "How long events are published.") var durationS: Int = 10
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...100_000).contains(classes) else { throw ValidationError("--classes must be 1-100000") }
        guard subscribers >= classes, subscribers <= 1_000_000 else {
            throw ValidationError("--subscribers must be at least --classes (one per class) and at most 1000000")
        }
        guard (1...1_000_000).contains(rate) else { throw ValidationError("--rate must be 1-1000000") }
        guard (1...3600).contains(durationS) else { throw ValidationError("--duration-s must be 1-3600") }
        let perClass = (rate * durationS + classes - 1) / classes
        guard perClass <= FanoutScenario.maxEventsPerClass else {
            throw ValidationError("--rate × --duration-s / --classes must be at most \(FanoutScenario.maxEventsPerClass) events per class (one roster student each); use more classes")
        }
    }

    func run() throws {
        try common.execute(needsAPI: true) { run in
            FanoutScenario(run: run, classes: classes, subscribers: subscribers, rate: rate, durationMs: UInt64(durationS) * 1000)
        }
    }
}

struct IdleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "N idle WebSocket connections; the hub's memory per connection from /proc/PID/status.")

    @Option(help: "Idle connections to open.") var clients: Int
    @Option(help: "The hub's process id (its VmRSS is read from /proc).") var hubPid: Int32
    @Option(help: "How long to hold the connections once all are open.") var holdS: Int = 10
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...1_000_000).contains(clients) else { throw ValidationError("--clients must be 1-1000000") }
        guard hubPid > 0 else { throw ValidationError("--hub-pid must be a process id") }
        guard (1...3600).contains(holdS) else { throw ValidationError("--hold-s must be 1-3600") }
    }

    func run() throws {
        try common.execute(needsAPI: false) { run in
            IdleScenario(run: run, clients: clients, hubPid: hubPid, holdMs: UInt64(holdS) * 1000)
        }
    }
}

struct PingPongCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pingpong",
        abstract: "N connections keep D pings in flight each for S seconds; pongs per second and ping → pong latency.",
        discussion: """
            Each connection sends D `{"type":"ping","id":"k"}` at once and one more for each pong (a closed \
            loop), so the result is the server's small request/reply throughput; latency runs from each \
            ping's send time. Works against any WebSocket server that answers a ping with \
            `{"type":"pong","id":…}` in order (no GET /healthz is made).
            """)

    @Option(help: "Connections.") var clients: Int
    @Option(help: "Pings in flight per connection (pipelined).") var depth: Int = 1
    @Option(help: "How long to measure.") var durationS: Int = 10
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...100_000).contains(clients) else { throw ValidationError("--clients must be 1-100000") }
        guard (1...4096).contains(depth) else { throw ValidationError("--depth must be 1-4096") }
        guard (1...3600).contains(durationS) else { throw ValidationError("--duration-s must be 1-3600") }
    }

    func run() throws {
        try common.execute(needsAPI: false) { run in
            PingPongScenario(run: run, clients: clients, depth: depth, durationMs: UInt64(durationS) * 1000)
        }
    }
}

struct HostileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostile",
        abstract: "The classroom load with attackers beside it; the well-behaved clients' latencies and what happened to each attacker.",
        discussion: """
            From the start of the check-ins until the run ends: a WebSocket ping flooder that never reads, \
            a subscribe/unsubscribe flooder (bursts of --subscribe-pairs), --slow-loris HTTP clients sending \
            a byte a second, --connect-drops connects closed at once, a 100 KiB message every second, and \
            wrong-code guessers (POST /v1/join and WebSocket checkin, ten a second each). With --baseline \
            the same classroom load runs first without attackers, and its numbers go into `baseline`.
            """)

    @Option(help: "Number of classes (one teacher dashboard each).") var classes: Int
    @Option(help: "Student devices per class.") var students: Int
    @Option(help: "Check-ins are spread evenly over this many seconds.") var windowS: Int = 30
    @Flag(help: "First run the same classroom load without attackers; its numbers go into `baseline`.") var baseline = false
    @Option(help: "Subscribe/unsubscribe pairs per flood burst.") var subscribePairs: Int = 5000
    @Option(help: "Slow-loris connections held at once.") var slowLoris: Int = 20
    @Option(help: "Connects dropped at once after connecting, over about ten seconds.") var connectDrops: Int = 3000
    @Option(help: "Source address of the attackers; 'none' lets the kernel choose (then they share the students' address).")
    var attackerSource: String = "127.0.0.99"
    @OptionGroup var common: CommonOptions

    func validate() throws {
        guard (1...100_000).contains(classes) else { throw ValidationError("--classes must be 1-100000") }
        guard (1...5000).contains(students) else { throw ValidationError("--students must be 1-5000") }
        guard (1...3600).contains(windowS) else { throw ValidationError("--window-s must be 1-3600") }
        guard (1...100_000).contains(subscribePairs) else { throw ValidationError("--subscribe-pairs must be 1-100000") }
        guard (0...1000).contains(slowLoris) else { throw ValidationError("--slow-loris must be 0-1000") }
        guard (0...1_000_000).contains(connectDrops) else { throw ValidationError("--connect-drops must be 0-1000000") }
    }

    func run() throws {
        let settings = try common.settings(needsAPI: true)
        let windowMs = UInt64(windowS) * 1000
        var baselineResult: LoadResult?
        if baseline {
            writeStderr("baseline: the classroom load without attackers\n")
            baselineResult = try LoadRun.execute(settings: settings) { run in
                ClassroomScenario(run: run, classes: classes, students: students, windowMs: windowMs)
            }
            writeStderr("with attackers:\n")
        }
        var source: SocketAddress?
        if attackerSource != "none" {
            do { source = try SocketAddress(parsing: attackerSource + ":0") } catch {
                throw ValidationError("--attacker-source must be an IP address or 'none': \(error)")
            }
        }
        let sizes = HostileSizes(subscribePairs: subscribePairs, slowLoris: slowLoris, connectDrops: connectDrops, source: source)
        var result = try LoadRun.execute(settings: settings) { run in
            HostileScenario(run: run, classes: classes, students: students, windowMs: windowMs, sizes: sizes)
        }
        if let baselineResult {
            result.extraJSON.insert(("baseline", baselineResult.baselineJSON()), at: 0)
            result.notes.insert("baseline (no attackers): errors \(baselineResult.errors), check-in → dashboard ms \(baselineResult.eventLatency?.line ?? "-")", at: 0)
        }
        try common.write(result)
    }
}
