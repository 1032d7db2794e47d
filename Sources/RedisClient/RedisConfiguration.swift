/// Where Redis is (parsed from `redis://[:password@]host:port[/db]`) and how patient to be with it.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var password: String?
    public var database: Int
    /// A command whose reply takes longer fails with `RedisError.timeout` and the connection is
    /// dropped and re-established. 2 s: far above a healthy round trip (< 1 ms), short enough that a
    /// stalled Redis turns into a quick 503 rather than a hung request.
    public var commandTimeoutMs: UInt64 = 2000
    /// An idle connection is probed this often, so a dead or half-open one is noticed within
    /// `keepAliveMs + commandTimeoutMs` even when nothing is being sent.
    public var keepAliveMs: UInt64 = 1000
    /// Whether acknowledged writes wait for a replica (see `RedisDurability`).
    public var durability: RedisDurability = .none
    /// Redis Cluster seed nodes; empty for a single Redis at `host:port`. The client learns the rest
    /// of the cluster from them.
    public var cluster: [RedisNodeAddress] = []

    public init(host: String, port: Int, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
    }

    /// How long `WAIT` may wait for a replica: half the command timeout, so that WAIT answers (0
    /// replicas) well before the command timeout would drop the connection.
    public var replicaWaitMs: UInt64 { max(commandTimeoutMs / 2, 1) }

    /// A connection is reported unhealthy (`isHealthy`) once its oldest unanswered command is this
    /// old, before the timeout itself drops it: /healthz turns 503 within a few seconds of a stall.
    var stallAfterMs: UInt64 { max(commandTimeoutMs / 2, 1) }

    public struct InvalidURL: Error, CustomStringConvertible {
        public let url: String
        public var description: String { "invalid Redis URL '\(url)' (expected redis://[:password@]host:port[/db])" }
    }

    public init(url: String) throws {
        guard url.hasPrefix("redis://") else { throw InvalidURL(url: url) }
        var rest = Substring(url.dropFirst("redis://".count))
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let auth = rest[..<at]
            password = String(auth.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).last ?? "")
            rest = rest[rest.index(after: at)...]
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let n = Int(db), n >= 0 else { throw InvalidURL(url: url) }
                database = n
            }
            rest = rest[..<slash]
        }
        var host = String(rest)
        var port = 6379
        if let colon = rest.lastIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: colon)...]), (1...65535).contains(p) else { throw InvalidURL(url: url) }
            port = p
            host = String(rest[..<colon])
        }
        if host.isEmpty || host == "localhost" { host = "127.0.0.1" }
        self.init(host: host, port: port, password: password?.isEmpty == true ? nil : password, database: database)
    }
}

extension RedisConfiguration {
    public struct InvalidNodeList: Error, CustomStringConvertible {
        public let text: String
        public var description: String { "invalid Redis Cluster node list '\(text)' (expected host:port[,host:port…])" }
    }

    /// A cluster client's configuration from `host:port[,host:port…]` (seed nodes; a password
    /// or a database do not apply: cluster nodes have only database 0).
    public init(clusterNodes text: String, password: String? = nil) throws {
        var nodes: [RedisNodeAddress] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard var node = RedisNodeAddress(part.drop(while: { $0 == " " })), !node.host.contains(" ") else {
                throw InvalidNodeList(text: text)
            }
            if node.host == "localhost" { node.host = "127.0.0.1" }
            guard !nodes.contains(node) else { throw InvalidNodeList(text: text) }
            nodes.append(node)
        }
        guard let first = nodes.first, nodes.count <= 64 else { throw InvalidNodeList(text: text) }
        self.init(host: first.host, port: first.port, password: password)
        cluster = nodes
    }

    /// The same settings for one node of the cluster.
    func node(_ address: RedisNodeAddress) -> RedisConfiguration {
        var copy = self
        copy.host = address.host
        copy.port = address.port
        copy.database = 0
        return copy
    }
}

/// One Redis node, as `CLUSTER SHARDS`, `MOVED` and `ASK` name it.
public struct RedisNodeAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public init(host: String, port: Int) { self.host = host; self.port = port }
    public var description: String { "\(host):\(port)" }
    public static func < (a: Self, b: Self) -> Bool { (a.host, a.port) < (b.host, b.port) }

    /// `host:port` (the last colon separates the port, so an IPv6 host works as Redis prints it).
    init?(_ text: Substring) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        let host = text[..<colon]
        guard !host.isEmpty else { return nil }
        self.init(host: String(host), port: port)
    }
}

/// When a write counts as acknowledged.
public enum RedisDurability: String, Sendable, CaseIterable {
    /// As soon as the primary applied it (and, with `appendfsync always`, wrote it to its AOF).
    case none
    /// Only once at least one replica has it too (`WAIT 1`), so it survives promoting that replica.
    case replica
}
