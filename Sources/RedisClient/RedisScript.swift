@preconcurrency import COpenSSL

/// A Lua script identified by the SHA-1 Redis uses for EVALSHA (computed once, here).
public final class RedisScript: Sendable {
    public let source: String
    public let sha1: String
    /// The script writes a record whose acknowledgement a client relies on; with replica
    /// durability each call waits for a replica (`RedisClient.evalScript`).
    public let writes: Bool

    public init(_ source: String, writes: Bool = false) {
        self.source = source
        self.writes = writes
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        let bytes = Array(source.utf8)
        _ = SHA1(bytes, bytes.count, &digest)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(40)
        for b in digest { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)]) }
        sha1 = String(decoding: out, as: UTF8.self)
    }
}
