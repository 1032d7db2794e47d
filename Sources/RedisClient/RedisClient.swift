@preconcurrency import CHiredis
import EventLoop
import Logging

/// Commands to Redis over one pipelined hiredis connection on the loop. Reconnects by itself;
/// a command issued while disconnected fails at once with `.disconnected` rather than waiting,
/// and one whose reply does not come within `commandTimeoutMs` fails with `.timeout`, so callers
/// can answer 503 instead of hanging.
///
/// With `configuration.cluster` set it talks to a Redis Cluster instead (`RedisCluster`: one
/// connection per master, commands routed by their key's slot, redirects followed); the
/// single-node path stays one branch away from the hiredis call.
public final class RedisClient {
    /// The connection of a single-node client (the cluster's first seed connection otherwise, unused).
    let connection: HiredisConnection
    let cluster: RedisCluster?

    public init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        connection = HiredisConnection(loop: loop, configuration: configuration, logger: logger)
        cluster = configuration.cluster.isEmpty ? nil : RedisCluster(loop: loop, configuration: configuration, logger: logger)
        // A PING on an idle connection: its deadline notices a dead or stalled server.
        connection.onIdle = { [weak connection] in
            if let connection { Self.send(on: connection, bytes: [Array("PING".utf8)]) { _ in } }
        }
    }

    /// The loop this client (and whoever shares it) runs on.
    public var loop: EventLoop { connection.loop }

    public func connect() { if let cluster { cluster.connect() } else { connection.connect() } }
    public func close() { if let cluster { cluster.close() } else { connection.close() } }
    /// Connected and ready for commands (in a cluster: to every master).
    public var isConnected: Bool { cluster?.isConnected ?? connection.isReady }
    /// Connected, and no reply overdue: false within about half the command timeout of Redis stalling.
    public var isHealthy: Bool { cluster?.isHealthy ?? connection.isHealthy }
    public var reconnects: Int { cluster?.reconnects ?? connection.reconnects }
    public var configuration: RedisConfiguration { connection.configuration }

    /// Called with true when a connection is (re)established, false when it is lost (in a cluster:
    /// true once every slot's master is connected, false when one of them is lost).
    public var onStateChange: ((Bool) -> Void)? {
        didSet {
            let handler = onStateChange
            if let cluster {
                cluster.onStateChange = handler
            } else {
                connection.onReady = { handler?(true) }
                connection.onLost = { _ in handler?(false) }
            }
        }
    }

    public typealias Completion = (Result<RedisValue, RedisError>) -> Void

    private final class Pending {
        let completion: Completion
        init(_ completion: @escaping Completion) { self.completion = completion }
    }

    public func send(_ args: [String], completion: @escaping Completion) {
        send(bytes: args.map { Array($0.utf8) }, completion: completion)
    }

    public func send(bytes args: [[UInt8]], completion: @escaping Completion) {
        if let cluster { return cluster.send(args) { result, _ in completion(result) } }
        Self.send(on: connection, bytes: args, completion: completion)
    }

    static func send(on connection: HiredisConnection, bytes args: [[UInt8]], completion: @escaping Completion) {
        guard connection.isReady else { completion(.failure(.disconnected)); return }
        let pending = Unmanaged.passRetained(Pending(completion))
        let submitted = connection.submit(args, callback: { ac, reply, privdata in
            let pending = Unmanaged<Pending>.fromOpaque(privdata!).takeRetainedValue()
            let connection = LibuvBridge.owner(of: ac!)
            guard let reply else {
                // hiredis passes no reply when the context is torn down with the command in flight.
                pending.completion(.failure(connection.lostReplyError(ac)))
                return
            }
            connection.replyArrived()
            let value = RedisValue(reply.assumingMemoryBound(to: redisReply.self))
            if case .error(let message) = value {
                pending.completion(.failure(.reply(message)))
            } else {
                pending.completion(.success(value))
            }
        }, privdata: pending.toOpaque())
        if !submitted {
            pending.release()
            completion(.failure(.disconnected))
        }
    }

    /// Runs a Lua script by its SHA-1 (EVALSHA); when the server does not know it yet (first use,
    /// or after a restart/FLUSH), loads it with EVAL, which also caches it for next time.
    /// A script that `writes` is followed, with `durability replica`, by `WAIT 1` on the same
    /// connection (pipelined, so it covers exactly this write and everything before it); it
    /// succeeds only once a replica has the write.
    public func evalScript(_ script: RedisScript, keys: [String], args: [String], completion: @escaping Completion) {
        evalScript(script, keys: keys, args: args.map { Array($0.utf8) }, completion: completion)
    }

    public func evalScript(_ script: RedisScript, keys: [String], args: [[UInt8]], completion: @escaping Completion) {
        var tail: [[UInt8]] = [Array(String(keys.count).utf8)]
        tail.reserveCapacity(1 + keys.count + args.count)
        for key in keys { tail.append(Array(key.utf8)) }
        tail.append(contentsOf: args)
        let durable = script.writes && connection.configuration.durability == .replica
        if let cluster { return runInCluster(cluster, script, tail: tail, byDigest: true, durable: durable, completion: completion) }
        run(script, tail: tail, byDigest: true, durable: durable, completion: completion)
    }

    /// The cluster's `run`: the script goes to its key's master (following redirects, loading the
    /// script there on NOSCRIPT: each node has its own script cache); the WAIT follows the reply,
    /// on the connection that ran the write (`awaitReplica`).
    private func runInCluster(_ cluster: RedisCluster, _ script: RedisScript, tail: [[UInt8]], byDigest: Bool, durable: Bool,
                              completion: @escaping Completion) {
        let head = byDigest ? [Array("EVALSHA".utf8), Array(script.sha1.utf8)] : [Array("EVAL".utf8), Array(script.source.utf8)]
        cluster.send(head + tail) { [weak self] result, node in
            if byDigest, case .failure(.reply(let message)) = result, message.hasPrefix("NOSCRIPT"), let self {
                return self.runInCluster(cluster, script, tail: tail, byDigest: false, durable: durable, completion: completion)
            }
            guard durable, case .success = result, let node else { return completion(result) }
            let call = DurableCall(completion)
            call.written(result, awaitingReplica: true)
            self?.awaitReplica(call, on: node) ?? call.replicated(.failure(.disconnected))
        }
    }

    /// Writes whose replies came in, waiting for the next WAIT on their node's connection.
    private final class WaitBatch {
        var calls: [DurableCall] = []
        var inFlight = false
    }
    private var waitBatches: [RedisNodeAddress: WaitBatch] = [:]

    /// At most one WAIT in flight per connection, covering every write answered before it was sent:
    /// a blocked WAIT (no replica after a fail-over) holds up everything behind it on the
    /// connection, so one per write would queue them up one replica timeout each.
    private func awaitReplica(_ call: DurableCall, on node: HiredisConnection) {
        let address = RedisNodeAddress(host: node.configuration.host, port: node.configuration.port)
        let batch = waitBatches[address] ?? WaitBatch()
        waitBatches[address] = batch
        batch.calls.append(call)
        if !batch.inFlight { sendWait(batch, on: node) }
    }

    private func sendWait(_ batch: WaitBatch, on node: HiredisConnection) {
        let calls = batch.calls
        batch.calls = []
        batch.inFlight = true
        let wait = ["WAIT", "1", String(node.configuration.replicaWaitMs)].map { Array($0.utf8) }
        Self.send(on: node, bytes: wait) { [weak self] result in
            batch.inFlight = false
            for call in calls { call.replicated(result) }
            if !batch.calls.isEmpty { self?.sendWait(batch, on: node) }
        }
    }

    private func run(_ script: RedisScript, tail: [[UInt8]], byDigest: Bool, durable: Bool, completion: @escaping Completion) {
        let head = byDigest ? [Array("EVALSHA".utf8), Array(script.sha1.utf8)] : [Array("EVAL".utf8), Array(script.source.utf8)]
        let call = DurableCall(completion)
        send(bytes: head + tail) { [weak self] result in
            if byDigest, case .failure(.reply(let message)) = result, message.hasPrefix("NOSCRIPT"), let self {
                call.superseded = true
                self.run(script, tail: tail, byDigest: false, durable: durable, completion: completion)
                return
            }
            call.written(result, awaitingReplica: durable)
        }
        if durable {
            let wait = ["WAIT", "1", String(connection.configuration.replicaWaitMs)].map { Array($0.utf8) }
            send(bytes: wait) { call.replicated($0) }
        }
    }

    /// A script's reply and, with replica durability, the reply of the WAIT pipelined after it;
    /// completes once both are in (or at once when the script failed or was retried).
    private final class DurableCall {
        private var completion: Completion?
        private var write: Result<RedisValue, RedisError>?
        private var wait: Result<RedisValue, RedisError>?
        var superseded = false

        init(_ completion: @escaping Completion) { self.completion = completion }

        func written(_ result: Result<RedisValue, RedisError>, awaitingReplica: Bool) {
            guard case .success = result, awaitingReplica else { return finish(result) }
            write = result
            settle()
        }

        func replicated(_ result: Result<RedisValue, RedisError>) {
            guard !superseded else { return }
            wait = result
            settle()
        }

        private func settle() {
            guard let write, let wait else { return }
            switch wait {
            case .success(let replicas) where (replicas.int ?? 0) >= 1: finish(write)
            case .success: finish(.failure(.notReplicated))
            case .failure(let error): finish(.failure(error))
            }
        }

        private func finish(_ result: Result<RedisValue, RedisError>) {
            guard let completion else { return }
            self.completion = nil
            completion(result)
        }
    }
}

@available(*, unavailable)
extension RedisClient: Sendable {}
