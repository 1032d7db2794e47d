@preconcurrency import CHiredis
import EventLoop
import Logging

/// A Redis Cluster on the loop (hiredis 0.14 has no cluster support): the slot map from
/// `CLUSTER SHARDS` (`CLUSTER SLOTS` on servers without it), one `HiredisConnection` per master,
/// each command sent to the master of its key's slot.
///
/// - `MOVED`: the slot is recorded at its new master, a full refresh is scheduled, and the command
///   goes again (a redirect means the command did not run). `ASK` (a slot being migrated): `ASKING`
///   and the command once at the named node. `TRYAGAIN`, `CLUSTERDOWN`, `READONLY` (a demoted
///   master) and a master without a ready connection (a fail-over in progress): retried with a
///   short backoff within `retryBudgetMs`, then failed as on a single node (`.disconnected` at once).
/// - A command whose connection broke with it in flight is not retried (it may have run): it fails
///   with `.connection`/`.timeout`, as on a single node.
/// - A lost connection, an incomplete slot map or a redirect refreshes the map (one refresh at a
///   time, every `retryRefreshMs` until every slot has a connected master); otherwise it is
///   refreshed every `refreshEveryMs`.
final class RedisCluster {
    let loop: EventLoop
    let configuration: RedisConfiguration
    let logger: Logger
    private(set) var topology = ClusterTopology()
    private var nodes: [RedisNodeAddress: HiredisConnection] = [:]
    private var closed = false
    private var refreshing = false
    private var refreshWanted = false
    private var refreshFailing = false
    private var lastRefreshMs: UInt64 = 0
    private var tickTimer: LoopTimer?
    private var wasUp = false
    private var retiredReconnects = 0
    /// Commands waiting on a retry timer (bounded by `maxWaiting`).
    private var waiting = 0

    var onStateChange: ((Bool) -> Void)?
    /// A refresh of the slot map completed, changed or not (the subscriber moves its channels).
    var onTopologyChange: (() -> Void)?

    static let refreshEveryMs: UInt64 = 5_000
    static let retryRefreshMs: UInt64 = 200
    static let maxRedirects = 16
    static let maxWaiting = 10_000

    init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
    }

    func connect() {
        guard !closed, tickTimer == nil else { return }
        for seed in configuration.cluster { _ = node(seed) }
        let timer = LoopTimer(loop: loop)
        timer.start(timeoutMs: Self.retryRefreshMs, repeatMs: Self.retryRefreshMs) { [weak self] in self?.tick() }
        timer.unref()
        tickTimer = timer
    }

    func close() {
        guard !closed else { return }
        closed = true
        tickTimer?.close()
        tickTimer = nil
        for connection in nodes.values { connection.close() }
    }

    /// Every slot has a master with a ready connection.
    var isConnected: Bool {
        topology.coversAllSlots && topology.masters.allSatisfy { nodes[$0]?.isReady == true }
    }

    var isHealthy: Bool {
        topology.coversAllSlots && topology.masters.allSatisfy { nodes[$0]?.isHealthy == true }
    }

    var reconnects: Int { nodes.values.reduce(retiredReconnects) { $0 + $1.reconnects } }

    /// The connection to `address`, created (and connecting) on first use.
    func node(_ address: RedisNodeAddress) -> HiredisConnection {
        if let connection = nodes[address] { return connection }
        let connection = HiredisConnection(loop: loop, configuration: configuration.node(address), logger: logger)
        connection.onIdle = { [weak connection] in
            if let connection { RedisClient.send(on: connection, bytes: [Array("PING".utf8)]) { _ in } }
        }
        connection.onReady = { [weak self] in self?.nodeChanged(refresh: self?.topology.isEmpty ?? false) }
        connection.onLost = { [weak self] _ in self?.nodeChanged(refresh: true) }
        nodes[address] = connection
        if !closed { connection.connect() }
        return connection
    }

    /// The master serving `slot` in the current map, if any.
    func master(ofSlot slot: Int) -> RedisNodeAddress? { topology.owner(of: slot) }

    private func nodeChanged(refresh: Bool) {
        if refresh { refreshSoon() }
        updateState()
    }

    private func updateState() {
        let up = isConnected
        guard up != wasUp else { return }
        wasUp = up
        onStateChange?(up)
    }

    // MARK: - Topology

    func refreshSoon() {
        refreshWanted = true
        if loop.nowMs >= lastRefreshMs + Self.retryRefreshMs { refresh() }
    }

    private func tick() {
        let now = loop.nowMs
        if refreshWanted || !isConnected || now >= lastRefreshMs + Self.refreshEveryMs { refresh() }
    }

    private func refresh() {
        guard !closed, !refreshing else { return }
        // Ask a connected master first (it knows the newest map), else any connected node.
        let source = topology.masters.lazy.compactMap { self.nodes[$0] }.first { $0.isReady }
            ?? nodes.values.first { $0.isReady }
        guard let source else {
            // Nothing is connected: make sure the seeds are being tried.
            for seed in configuration.cluster { _ = node(seed) }
            return
        }
        refreshing = true
        refreshWanted = false
        lastRefreshMs = loop.nowMs
        let seedHost = source.configuration.host
        RedisClient.send(on: source, bytes: [Array("CLUSTER".utf8), Array("SHARDS".utf8)]) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let reply):
                self.refreshed(ClusterTopology(shards: reply, seedHost: seedHost), from: source)
            case .failure(.reply):
                // Before Redis 7: CLUSTER SLOTS.
                RedisClient.send(on: source, bytes: [Array("CLUSTER".utf8), Array("SLOTS".utf8)]) { [weak self] result in
                    guard let self else { return }
                    switch result {
                    case .success(let reply): self.refreshed(ClusterTopology(slots: reply, seedHost: seedHost), from: source)
                    case .failure(let error): self.refreshed(nil, from: source, error: error)
                    }
                }
            case .failure(let error):
                self.refreshed(nil, from: source, error: error)
            }
        }
    }

    private func refreshed(_ fresh: ClusterTopology?, from source: HiredisConnection, error: RedisError? = nil) {
        refreshing = false
        guard !closed else { return }
        guard let fresh, !fresh.isEmpty else {
            refreshWanted = true
            // Once per streak: e.g. a node without cluster support, or a cluster not formed yet.
            if !refreshFailing {
                refreshFailing = true
                let address = "\(source.configuration.host):\(source.configuration.port)"
                logger.warning("redis cluster: no slot map from \(address): \(error?.description ?? "no master serves any slot"); retrying")
            }
            return
        }
        refreshFailing = false
        if fresh != topology {
            topology = fresh
            logger.info("redis cluster: \(fresh.masters.count) masters", metadata: ["masters": "\(fresh.masters)"])
            for master in fresh.masters { _ = node(master) }
            // A node that serves no slot any more (a demoted master) keeps no command connection;
            // seeds stay, to find the cluster again should every master change.
            for (address, connection) in nodes where !fresh.masters.contains(address) && !configuration.cluster.contains(address) {
                retiredReconnects += connection.reconnects
                connection.close()
                nodes[address] = nil
            }
            refreshWanted = refreshWanted || !fresh.coversAllSlots
        }
        onTopologyChange?()
        updateState()
    }

    // MARK: - Commands

    typealias Completion = (Result<RedisValue, RedisError>, HiredisConnection?) -> Void

    private final class Request {
        var args: [[UInt8]]
        let slot: Int?
        let started: UInt64
        let completion: Completion
        var redirects = 0
        var retries = 0
        var ask: RedisNodeAddress?
        init(args: [[UInt8]], slot: Int?, started: UInt64, completion: @escaping Completion) {
            self.args = args
            self.slot = slot
            self.started = started
            self.completion = completion
        }
    }

    /// Sends to the master of the command's key (any master for a command without one); the
    /// completion also gets the connection that answered (for a WAIT after a write).
    func send(_ args: [[UInt8]], completion: @escaping Completion) {
        guard let first = args.first else { return completion(.failure(.reply("ERR empty command")), nil) }
        let name = Self.upper(first)
        if name == "SCAN", args.count >= 2 { return scan(args, completion: completion) }
        let slot = Self.keyIndex(args, name: name).map { ClusterSlot.of(args[$0]) }
        dispatch(Request(args: args, slot: slot, started: loop.nowMs, completion: completion))
    }

    private func dispatch(_ request: Request) {
        let address: RedisNodeAddress?
        if let ask = request.ask {
            address = ask
        } else if let slot = request.slot {
            address = topology.owner(of: slot)
        } else {
            address = topology.masters.first { self.nodes[$0]?.isReady == true }
        }
        guard let address else { return retry(request, .disconnected) }
        let target = node(address)
        guard target.isReady else { return retry(request, .disconnected) }
        let asked = request.ask != nil
        request.ask = nil
        if asked { RedisClient.send(on: target, bytes: [Array("ASKING".utf8)]) { _ in } }
        RedisClient.send(on: target, bytes: request.args) { [weak self] result in
            guard let self, !self.closed, case .failure(.reply(let message)) = result, request.redirects < Self.maxRedirects else {
                return request.completion(result, target)
            }
            if let moved = Self.redirect(message, kind: "MOVED ", from: address) {
                request.redirects += 1
                self.topology.assign(moved.slot, to: moved.address)
                self.refreshSoon()
                return self.dispatch(request)
            }
            if !asked, let ask = Self.redirect(message, kind: "ASK ", from: address) {
                request.redirects += 1
                request.ask = ask.address
                return self.dispatch(request)
            }
            if ["TRYAGAIN", "CLUSTERDOWN", "READONLY", "MASTERDOWN"].contains(where: { message.hasPrefix($0) }) {
                return self.retry(request, .reply(message))
            }
            if message.hasPrefix("CROSSSLOT") || message.hasPrefix("ERR") {
                self.logger.debug("redis cluster: \(message)", metadata: ["node": "\(address)"])
            }
            request.completion(result, target)
        }
    }

    /// How long a command may wait for its slot to be served (a fail-over, a migration step) before
    /// it fails as it would on a single node: a quarter of the command timeout, at most 500 ms, so
    /// the few commands of one request together stay well within a client's patience.
    var retryBudgetMs: UInt64 { min(configuration.commandTimeoutMs / 4, 500) }

    /// Tries again after a short backoff, while the retry budget lasts.
    private func retry(_ request: Request, _ error: RedisError) {
        refreshSoon()
        let delay = min(UInt64(25) << UInt64(min(request.retries, 4)), 200)
        guard !closed, waiting < Self.maxWaiting, loop.nowMs + delay < request.started + retryBudgetMs else {
            logger.debug("redis cluster: giving up after \(request.retries) retries: \(error)", metadata: ["slot": "\(request.slot.map(String.init) ?? "-")"])
            return request.completion(.failure(error), nil)
        }
        request.retries += 1
        waiting += 1
        let timer = LoopTimer(loop: loop)
        timer.start(timeoutMs: delay) { [weak self] in
            timer.close()
            guard let self else { return request.completion(.failure(error), nil) }
            self.waiting -= 1
            if self.closed { return request.completion(.failure(error), nil) }
            self.dispatch(request)
        }
    }

    /// `MOVED <slot> <host>:<port>` / `ASK …`; an empty host is the host that answered.
    static func redirect(_ message: String, kind: String, from: RedisNodeAddress) -> (slot: Int, address: RedisNodeAddress)? {
        guard message.hasPrefix(kind) else { return nil }
        let parts = message.dropFirst(kind.count).split(separator: " ")
        guard parts.count == 2, let slot = Int(parts[0]), let colon = parts[1].lastIndex(of: ":"),
              let port = Int(parts[1][parts[1].index(after: colon)...]), (1...65535).contains(port) else { return nil }
        let host = parts[1][..<colon]
        let address = RedisNodeAddress(host: host.isEmpty || host == "?" ? from.host : String(host), port: port)
        return (slot, address)
    }

    /// Where a command's (first) key is: after the name, after EVAL/EVALSHA's script and count, after
    /// a subcommand (XGROUP, XINFO), or after the STREAMS word of XREAD/XREADGROUP.
    static func keyIndex(_ args: [[UInt8]], name: String? = nil) -> Int? {
        guard let first = args.first, args.count >= 2 else { return nil }
        switch name ?? upper(first) {
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO":
            guard args.count >= 4, let count = Int(String(decoding: args[2], as: UTF8.self)), count > 0 else { return nil }
            return 3
        case "XGROUP", "XINFO":
            return args.count >= 3 ? 2 : nil
        case "XREAD", "XREADGROUP":
            guard let streams = args.firstIndex(where: { upper($0) == "STREAMS" }), streams + 1 < args.count else { return nil }
            return streams + 1
        case "PING", "WAIT", "INFO", "CLUSTER", "ASKING", "DBSIZE", "FLUSHALL", "FLUSHDB", "SCRIPT", "CONFIG", "TIME":
            return nil
        default:
            return 1
        }
    }

    private static func upper(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(16).map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
    }
}

@available(*, unavailable)
extension RedisCluster: Sendable {}
