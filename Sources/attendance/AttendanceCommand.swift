import ArgumentParser
import Attendance
import EventLoop
import Foundation
import Hub
import Logging
import RedisClient

@main
struct AttendanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attendance",
        abstract: "Live class attendance: the WebSocket hub, the REST sidecar, and admin tasks.",
        subcommands: [HubCommand.self, APICommand.self, TokenCommand.self, UserCommand.self, PurgeCommand.self,
                      RosterCommand.self, ExportCommand.self])
}

/// Options every server subcommand shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Redis URL (env ATTENDANCE_REDIS, config `redis`; default redis://127.0.0.1:6379).")
    var redis: String?

    @Option(help: "Redis Cluster seed nodes host:port[,host:port…], instead of --redis (env ATTENDANCE_REDIS_CLUSTER, config `redis_cluster`).")
    var redisCluster: String?

    @Option(help: "Milliseconds a Redis command may wait for its reply before it fails (503) and the connection is re-established (env ATTENDANCE_REDIS_TIMEOUT_MS, config `redis_timeout_ms`; default 2000).")
    var redisTimeoutMs: Int?

    @Option(help: "When a write is acknowledged: `none` (the primary has it) or `replica` (WAIT for one replica; 503 if none confirms in time) (env ATTENDANCE_DURABILITY, config `durability`; default none).")
    var durability: String?

    @Option(help: "Config file (env ATTENDANCE_CONFIG; default Config/attendance.conf if present).")
    var config: String?

    @Flag(help: "Use the fixed development secrets when none are configured (never in production).")
    var dev = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env ATTENDANCE_LOG_LEVEL).")
    var logLevel: String?

    @Option(help: "Longest lifetime (exp - iat) of teacher and admin access tokens, in seconds (env ATTENDANCE_MAX_TOKEN_LIFETIME_S, config `max_token_lifetime_s`; default 86400). Student tokens: the longest class plus 1 h.")
    var maxTokenLifetimeS: Int?

    func settings() throws -> Settings { try Settings(configPath: config) }

    func logger(label: String, settings: Settings) -> Logger {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: label)
        let level = settings.value(flag: logLevel, env: "ATTENDANCE_LOG_LEVEL", key: "log_level", default: "info")!
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }

    /// The address a server subcommand listens on: `flag`, then `ATTENDANCE_<COMPONENT>_LISTEN`, then the
    /// config key `<component>.listen`, then `fallback`.
    func listenAddress(_ settings: Settings, flag: String?, component: String, default fallback: String) throws -> SocketAddress {
        let text = settings.value(flag: flag, env: "ATTENDANCE_\(component.uppercased())_LISTEN", key: "\(component).listen",
                                  default: fallback)!
        do { return try SocketAddress(parsing: text) } catch { throw ValidationError("invalid listen address '\(text)': \(error)") }
    }

    func redisConfiguration(_ settings: Settings) throws -> RedisConfiguration {
        // --redis-cluster and --redis exclude each other; the more specific source wins (a cluster
        // flag over the config file's `redis`), the same source for both is an error.
        let urlLevel = settings.level(flag: redis, env: "ATTENDANCE_REDIS", key: "redis")
        let clusterLevel = settings.level(flag: redisCluster, env: "ATTENDANCE_REDIS_CLUSTER", key: "redis_cluster")
        guard clusterLevel == 0 || urlLevel != clusterLevel else {
            throw ValidationError("give either a Redis URL (redis) or Redis Cluster nodes (redis_cluster), not both")
        }
        var configuration: RedisConfiguration
        do {
            if clusterLevel > urlLevel {
                configuration = try RedisConfiguration(clusterNodes: settings.value(flag: redisCluster, env: "ATTENDANCE_REDIS_CLUSTER", key: "redis_cluster")!)
            } else {
                configuration = try RedisConfiguration(url: settings.value(flag: redis, env: "ATTENDANCE_REDIS", key: "redis", default: "redis://127.0.0.1:6379")!)
            }
        } catch { throw ValidationError("\(error)") }
        let timeout = settings.integer(flag: redisTimeoutMs, env: "ATTENDANCE_REDIS_TIMEOUT_MS", key: "redis_timeout_ms",
                                       default: Int(configuration.commandTimeoutMs))
        guard let timeout, (100...60_000).contains(timeout) else {
            throw ValidationError("redis timeout must be 100…60000 ms")
        }
        configuration.commandTimeoutMs = UInt64(timeout)
        let mode = settings.value(flag: durability, env: "ATTENDANCE_DURABILITY", key: "durability", default: "none")!
        guard let parsed = RedisDurability(rawValue: mode) else {
            throw ValidationError("durability must be one of: \(RedisDurability.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        configuration.durability = parsed
        return configuration
    }

    /// Secrets: `ATTENDANCE_JWT_SECRET` is one secret, or `kid=secret,kid=secret` with the current key
    /// first (older keys still verify during a rotation). Without secrets only `--dev` may start.
    func secrets(_ settings: Settings, logger: Logger?) throws -> (signer: TokenSigner, qrKey: [UInt8]) {
        var jwt = settings.value(flag: nil, env: "ATTENDANCE_JWT_SECRET", key: "jwt_secret")
        var qr = settings.value(flag: nil, env: "ATTENDANCE_QR_KEY", key: "qr_key")
        if jwt == nil || qr == nil {
            guard dev else {
                throw ValidationError("ATTENDANCE_JWT_SECRET and ATTENDANCE_QR_KEY must be set (or pass --dev for the development secrets)")
            }
            logger?.warning("using the fixed DEVELOPMENT secrets (--dev); never run this in production")
            jwt = jwt ?? DevSecrets.jwt
            qr = qr ?? DevSecrets.qr
        }
        if !dev, jwt == DevSecrets.jwt || qr == DevSecrets.qr {
            throw ValidationError("the development secrets are configured; set real secrets or pass --dev")
        }
        guard let jwt, let qr, !jwt.isEmpty, !qr.isEmpty else { throw ValidationError("empty secret") }
        do {
            let (keys, current) = try Secrets.jwtKeys(jwt, dev: dev)
            return (TokenSigner(keys: keys, currentKid: current, maxLifetimeS: try maxTokenLifetime(settings)),
                    try Secrets.qrKey(qr, dev: dev))
        } catch let error as SettingsError {
            throw ValidationError(error.description)
        }
    }

    /// The longest lifetime servers accept for teacher and admin tokens (and `token` mints).
    func maxTokenLifetime(_ settings: Settings) throws -> Int64 {
        guard let value = settings.integer(flag: maxTokenLifetimeS, env: "ATTENDANCE_MAX_TOKEN_LIFETIME_S",
                                           key: "max_token_lifetime_s", default: Int(TokenSigner.defaultMaxLifetimeS)),
              (60...(366 * 86_400)).contains(value)
        else { throw ValidationError("max_token_lifetime_s must be 60 s to 366 days") }
        return Int64(value)
    }
}

struct HubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hub", abstract: "Run the WebSocket hub (GET /ws, /healthz, /metrics).")

    @Option(help: "Listen address (env ATTENDANCE_HUB_LISTEN, config `hub.listen`; default 127.0.0.1:8080).")
    var listen: String?

    @Option(help: "Event loops, one per core (env ATTENDANCE_HUB_WORKERS, config `hub.workers`; default 1).")
    var workers: Int?

    @Flag(help: "Listen with SO_REUSEPORT so several hub processes share one address (env ATTENDANCE_HUB_REUSE_PORT, config `hub.reuse_port`; default false).")
    var reusePort = false

    @Option(help: "Close a client with 1013 when this many bytes wait in its send queue (default 1 MiB).")
    var maxQueuedBytes: Int?

    @Option(help: "Ping clients idle this long, drop those missing two pings (default 25000).")
    var pingIntervalMs: Int?

    @OptionGroup var failureLimits: FailureLimitOptions

    @Option(help: "Reverse proxies whose X-Forwarded-For on the WebSocket upgrade names the client, comma-separated CIDRs (env ATTENDANCE_HUB_TRUSTED_PROXIES, config `hub.trusted_proxies`; default none: the header is ignored).")
    var trustedProxies: String?

    @Option(help: "Live events held back per room or subscription while it loads; past it they are read again from the stream (default 10000).")
    var maxHeldEvents: Int?

    @Option(help: "On SIGTERM, wait at most this long for clients to answer the 1001 close (default 2000).")
    var shutdownGraceMs: Int?
    @Option(help: "Per-connection budget: work tokens earned per second (subscribe 10, check-in 5, ping 0; default 200).")
    var clientBudgetPerS: Int?

    @Option(help: "Per-connection budget: tokens spendable at once (default 1000).")
    var clientBudgetBurst: Int?

    @Option(help: "Per-connection budget: message bytes per second (default 8 MiB).")
    var clientBudgetBytesPerS: Int?

    @Option(help: "Close with 1008 after this many rate_limited replies within 10 s (default 50).")
    var clientBudgetStrikes: Int?

    @Option(help: "Connections open at once from one address, beyond which 503 (default 20000: a campus behind one NAT address, or a load balancer).")
    var maxConnectionsPerAddress: Int?

    @Option(help: "Connections open at once in total, beyond which 503 (default: the open-file limit minus a reserve for Redis and listeners).")
    var maxConnections: Int?

    @OptionGroup var common: CommonOptions

    func run() throws {
        let settings = try common.settings()
        let logger = common.logger(label: "attendance.hub", settings: settings)
        let address = try common.listenAddress(settings, flag: listen, component: "hub", default: "127.0.0.1:8080")
        guard let workerCount = settings.integer(flag: workers, env: "ATTENDANCE_HUB_WORKERS", key: "hub.workers", default: 1),
              (1...256).contains(workerCount)
        else { throw ValidationError("workers must be 1-256") }
        let (signer, qrKey) = try common.secrets(settings, logger: logger)
        var configuration = HubConfiguration(listen: address, redis: try common.redisConfiguration(settings),
                                             workers: workerCount, signer: signer, qrKey: qrKey)
        configuration.limits = try failureLimits.storeLimits(settings)
        configuration.trustedProxies = try networks(settings, flag: trustedProxies, name: "trusted_proxies", prefix: "hub.")
        configuration.reusePort = try settings.boolean(flag: reusePort, env: "ATTENDANCE_HUB_REUSE_PORT", key: "hub.reuse_port")
        if let maxQueuedBytes {
            guard maxQueuedBytes >= 4096 else { throw ValidationError("--max-queued-bytes must be at least 4096") }
            configuration.maxQueuedBytes = maxQueuedBytes
        }
        if let maxHeldEvents {
            guard maxHeldEvents >= 1 else { throw ValidationError("--max-held-events must be at least 1") }
            configuration.maxHeldEvents = maxHeldEvents
        }
        if let shutdownGraceMs {
            guard (0...600_000).contains(shutdownGraceMs) else { throw ValidationError("--shutdown-grace-ms must be 0-600000") }
            configuration.shutdownGraceMs = UInt64(shutdownGraceMs)
        }
        if let pingIntervalMs {
            guard pingIntervalMs >= 50 else { throw ValidationError("--ping-interval-ms must be at least 50") }
            configuration.pingIntervalMs = UInt64(pingIntervalMs)
            configuration.sweepIntervalMs = min(configuration.sweepIntervalMs, UInt64(pingIntervalMs) / 4)
        }
        try applyLimits(to: &configuration)
        try Hub.run(configuration, logger: logger)
    }

    private func applyLimits(to configuration: inout HubConfiguration) throws {
        func check(_ value: Int?, _ flag: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let value else { return nil }
            guard range.contains(value) else { throw ValidationError("--\(flag) must be \(range.lowerBound)-\(range.upperBound)") }
            return value
        }
        if let v = try check(clientBudgetPerS, "client-budget-per-s", 1...1_000_000) { configuration.clientBudget.tokensPerS = v }
        if let v = try check(clientBudgetBurst, "client-budget-burst", 10...10_000_000) { configuration.clientBudget.tokenBurst = v }
        if let v = try check(clientBudgetBytesPerS, "client-budget-bytes-per-s", 65_536...(1 << 30)) { configuration.clientBudget.bytesPerS = v }
        if let v = try check(clientBudgetStrikes, "client-budget-strikes", 1...1_000_000) { configuration.clientBudget.maxStrikes = v }
        if let v = try check(maxConnectionsPerAddress, "max-connections-per-address", 1...10_000_000) { configuration.maxConnectionsPerAddress = v }
        if let v = try check(maxConnections, "max-connections", 1...10_000_000) { configuration.maxConnections = v }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Print a signed access token (development and tests).")

    @Option(help: "teacher, student or admin.") var role: String
    @Option(help: "The user id (the token's `sub`).") var sub: String
    @Option(help: "Lifetime in seconds.") var ttlS: Int = 3600
    @Option(help: "The class a student token is bound to (`cls`).") var `class`: String?
    @OptionGroup var common: CommonOptions

    func run() throws {
        guard let role = Role(rawValue: role) else { throw ValidationError("--role must be teacher, student or admin") }
        guard Identifier.isValid(sub) else { throw ValidationError("--sub must be 1-64 characters of [A-Za-z0-9_.:-]") }
        if let cls = `class`, !Identifier.isValid(cls) { throw ValidationError("--class must be 1-64 characters of [A-Za-z0-9_.:-]") }
        if role == .student && `class` == nil { throw ValidationError("a student token needs --class") }
        let settings = try common.settings()
        let (signer, _) = try common.secrets(settings, logger: nil)
        // Refuse what the servers would refuse, rather than mint a token that fails later.
        let maximum = signer.maxLifetimeS(for: role)
        guard (1...maximum).contains(Int64(ttlS)) else {
            throw ValidationError("--ttl-s must be 1 to \(maximum) s for a \(role.rawValue) token: servers refuse longer lifetimes"
                                  + (role == .student ? "" : " (raise it with --max-token-lifetime-s or ATTENDANCE_MAX_TOKEN_LIFETIME_S on every server)"))
        }
        let now = EventLoop.wallClockMs() / 1000
        print(signer.sign(AccessClaims(sub: sub, role: role, iat: now, exp: now + Int64(ttlS), cls: `class`)))
    }
}

extension Settings {
    /// A switch: a given flag wins; otherwise the environment variable, then the config key, read as
    /// true/false (also 1/0, yes/no); anything else is an error rather than a silent default.
    func boolean(flag: Bool, env: String, key: String) throws -> Bool {
        if flag { return true }
        guard let text = value(flag: nil, env: env, key: key) else { return false }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ValidationError("\(key) must be true or false, not '\(text)'")
        }
    }
}
