@preconcurrency import CHiredis

/// A Redis reply, copied out of hiredis' reply object.
public enum RedisValue: Equatable, Sendable {
    case string([UInt8])
    case status(String)
    case integer(Int64)
    case array([RedisValue])
    case null
    /// Only nested inside arrays (EXEC, script tables); a top-level error reply is `RedisError.reply`.
    case error(String)

    public var text: String? {
        switch self {
        case .string(let b): return String(decoding: b, as: UTF8.self)
        case .status(let s): return s
        default: return nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .string(let b): return b
        case .status(let s): return Array(s.utf8)
        default: return nil
        }
    }

    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .string(let b): return Int64(String(decoding: b, as: UTF8.self))
        case .status(let s): return Int64(s)
        default: return nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool { self == .null }

    init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING:
            self = .string(Array(UnsafeRawBufferPointer(start: r.str, count: Int(r.len))))
        case REDIS_REPLY_STATUS:
            self = .status(String(decoding: UnsafeRawBufferPointer(start: r.str, count: Int(r.len)), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            self = .error(String(decoding: UnsafeRawBufferPointer(start: r.str, count: Int(r.len)), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            self = .integer(r.integer)
        case REDIS_REPLY_ARRAY:
            var items: [RedisValue] = []
            items.reserveCapacity(Int(r.elements))
            for i in 0..<Int(r.elements) {
                if let element = r.element[i] { items.append(RedisValue(element)) } else { items.append(.null) }
            }
            self = .array(items)
        default:
            self = .null
        }
    }
}

/// Why a command did not produce a value. Server error replies keep their text so callers can map
/// a script's `error_reply` codes to their own errors.
public enum RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not connected right now (reconnecting); the command was not sent.
    case disconnected
    /// The server answered with an error reply (`-ERR …`, or a script's `error_reply`).
    case reply(String)
    /// The connection failed while the command was in flight.
    case connection(String)

    public var description: String {
        switch self {
        case .disconnected: return "redis: not connected"
        case .reply(let s): return "redis: \(s)"
        case .connection(let s): return "redis connection: \(s)"
        }
    }
}

/// Where Redis is: parsed from `redis://[:password@]host:port[/db]`.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var password: String?
    public var database: Int

    public init(host: String, port: Int, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
    }

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
