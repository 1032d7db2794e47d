import Foundation
import Glibc

/// A real Redis Cluster for tests: six redis-server processes (`--cluster-enabled yes`) on free
/// ports, each in its own temporary folder, joined by `redis-cli --cluster create
/// --cluster-replicas 1` into three masters with one replica each. `cluster-node-timeout` is
/// 1000 ms, so a killed master's replica takes over within a few seconds.
public final class LocalRedisCluster: @unchecked Sendable {
    public let servers: [RedisServer]
    public let host = "127.0.0.1"

    /// The seeds for `--redis-cluster`.
    public var nodeList: String { servers.map { "\(host):\($0.port)" }.joined(separator: ",") }

    /// `durable`: AOF with `appendfsync always` on every node, so a killed node restarted before
    /// (or after) its fail-over never comes back empty.
    public init(nodeTimeoutMs: Int = 1000, durable: Bool = false) throws {
        var servers: [RedisServer] = []
        do {
            // Twelve distinct free ports: a client port and a bus port per node (the bus port
            // defaults to port + 10000, past 65535 for a high free port).
            var ports: [Int] = []
            while ports.count < 12 {
                let port = freeTCPPort()
                if !ports.contains(port) { ports.append(port) }
            }
            for i in 0..<6 {
                servers.append(try RedisServer(port: ports[2 * i], durable: durable, arguments: [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(ports[2 * i + 1]),
                    "--cluster-node-timeout", String(nodeTimeoutMs),
                    // The other shards keep serving while one fails over.
                    "--cluster-require-full-coverage", "no",
                    // A replica takes over however long its link to the master was down.
                    "--cluster-replica-validity-factor", "0",
                ]))
            }
        } catch {
            for server in servers { server.stop() }
            throw error
        }
        self.servers = servers
        let create = Process()
        create.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        create.arguments = ["--cluster", "create"] + servers.map { "\(host):\($0.port)" } + ["--cluster-replicas", "1", "--cluster-yes"]
        create.standardOutput = FileHandle.nullDevice
        create.standardError = FileHandle.nullDevice
        try create.run()
        create.waitUntilExit()
        guard create.terminationStatus == 0, waitUntil(timeout: 30, { self.isHealthy(replicas: 3) }) else {
            stop()
            throw NSError(domain: "LocalRedisCluster", code: 1, userInfo: [NSLocalizedDescriptionKey: "the cluster did not form"])
        }
    }

    public func stop() {
        for server in servers {
            server.stop()
            try? FileManager.default.removeItem(atPath: server.directory)
        }
    }

    /// One node's view: `(id, port, flags, master id, slots)` per node of `CLUSTER NODES`.
    public struct Node {
        public let id: String
        public let port: Int
        public let flags: [String]
        public let masterId: String
        public let slots: [ClosedRange<Int>]
        public var isMaster: Bool { flags.contains("master") && !flags.contains("fail") && !flags.contains("fail?") }
    }

    public func nodes(askingPort port: Int? = nil) -> [Node] {
        guard let server = port.flatMap({ p in servers.first { $0.port == p } }) ?? servers.first(where: { $0.pid > 0 }) else { return [] }
        return server.cli("CLUSTER", "NODES").split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count >= 8, let colon = parts[1].lastIndex(of: ":"),
                  let port = Int(parts[1][parts[1].index(after: colon)...].prefix { $0.isNumber }) else { return nil }
            let slots: [ClosedRange<Int>] = parts.dropFirst(8).compactMap { item in
                guard !item.hasPrefix("[") else { return nil }
                let bounds = item.split(separator: "-").compactMap { Int($0) }
                return bounds.count == 2 ? bounds[0]...bounds[1] : bounds.count == 1 ? bounds[0]...bounds[0] : nil
            }
            return Node(id: parts[0], port: port, flags: parts[2].split(separator: ",").map(String.init), masterId: parts[3], slots: slots)
        }
    }

    /// Every live node says the cluster is ok, there are three masters with `replicas` replicas
    /// among them, and (with `replicas` > 0) every master has an online replica.
    public func isHealthy(replicas: Int) -> Bool {
        let live = servers.filter { $0.pid > 0 }
        guard live.allSatisfy({ $0.cli("CLUSTER", "INFO").contains("cluster_state:ok") }) else { return false }
        return live.allSatisfy { server in
            let view = nodes(askingPort: server.port)
            let masters = view.filter { $0.isMaster && !$0.slots.isEmpty }
            let connected = view.filter { $0.flags.contains("slave") && !$0.flags.contains("fail") }
            return masters.count == 3 && connected.count >= replicas
        } && (replicas == 0 || nodes().filter { $0.isMaster && !$0.slots.isEmpty }.allSatisfy { master in
            // The replica's link is up and its first sync done: WAIT can count it.
            let info = server(port: master.port)?.cli("INFO", "replication") ?? ""
            return info.contains("connected_slaves:1") && info.contains("state=online")
        })
    }

    public func server(port: Int) -> RedisServer? { servers.first { $0.port == port } }

    /// The class ids whose meta key (`att:{cid}:meta`) is on a live master, by master port.
    public func classes() -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for node in nodes() where node.isMaster && !node.slots.isEmpty {
            let keys = server(port: node.port)?.cliArguments(["--scan", "--pattern", "att:{*}:meta"]) ?? ""
            out[node.port] = keys.split(separator: "\n").map { String($0.dropFirst(5).dropLast(6)) }
        }
        return out
    }

    /// The master serving `slot`, as a live node sees it.
    public func master(ofSlot slot: Int) -> Node? {
        nodes().first { $0.isMaster && $0.slots.contains { $0.contains(slot) } }
    }

    public func slot(of key: String) -> Int { Int(servers.first { $0.pid > 0 }!.cli("CLUSTER", "KEYSLOT", key)) ?? -1 }

    /// Moves one slot to the master `target` by hand, as `redis-cli --cluster reshard` does:
    /// IMPORTING/MIGRATING, MIGRATE of its keys in batches, then SETSLOT NODE on every master.
    /// Commands keep running meanwhile (ASK, TRYAGAIN).
    public func migrate(slot: Int, to target: Node) throws {
        guard let source = master(ofSlot: slot), source.id != target.id,
              let from = server(port: source.port), let to = server(port: target.port) else {
            throw NSError(domain: "LocalRedisCluster", code: 2, userInfo: [NSLocalizedDescriptionKey: "no source for slot \(slot)"])
        }
        _ = to.cli("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", source.id)
        _ = from.cli("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", target.id)
        while true {
            let keys = from.cli("CLUSTER", "GETKEYSINSLOT", "\(slot)", "50").split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            if keys.isEmpty { break }
            let reply = from.cliArguments(["MIGRATE", host, "\(target.port)", "", "0", "5000", "KEYS"] + keys)
            guard reply == "OK" else {
                throw NSError(domain: "LocalRedisCluster", code: 3, userInfo: [NSLocalizedDescriptionKey: "MIGRATE: \(reply)"])
            }
        }
        _ = to.cli("CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id)
        _ = from.cli("CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id)
        for node in nodes() where node.isMaster && node.id != source.id && node.id != target.id {
            _ = server(port: node.port)?.cli("CLUSTER", "SETSLOT", "\(slot)", "NODE", target.id)
        }
    }
}
