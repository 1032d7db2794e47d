#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network such as `10.1.0.0/16` or `2001:db8::/48`, for trusted proxies and a
/// class's allowed networks. A bare address is its own /32 or /128. IPv4-mapped IPv6 addresses
/// (`::ffff:10.1.2.3`, how a dual-stack socket reports IPv4 peers) match IPv4 networks.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes, host bits cleared.
    let network: [UInt8]
    public let prefix: Int

    /// nil for anything that is not `address[/prefix]` with a prefix in range. Host bits set in the
    /// address (`10.1.2.3/16`) are cleared rather than refused: the operator's intent is clear.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.bytes(String(parts[0])) else { return nil }
        let bits = bytes.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard parts[1].utf8.allSatisfy({ (48...57).contains($0) }), let given = Int(parts[1]), (0...bits).contains(given) else { return nil }
            prefix = given
        }
        self.prefix = prefix
        network = Self.masked(bytes, prefix: prefix)
    }

    /// Whether `address` (a textual IP address, as peers and X-Forwarded-For give it) is inside.
    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.bytes(address), bytes.count == network.count else { return false }
        return Self.masked(bytes, prefix: prefix) == network
    }

    public var description: String { Self.text(network) + "/" + String(prefix) }

    /// Parses a comma-separated list (flags, config, the class meta); nil names the first bad entry.
    public static func parseList(_ text: String) -> Result<[CIDR], ListError> {
        var networks: [CIDR] = []
        for entry in text.split(separator: ",") {
            let trimmed = entry.trimmingSpaces
            guard !trimmed.isEmpty else { continue }
            guard let network = CIDR(String(trimmed)) else { return .failure(ListError(entry: String(trimmed.prefix(80)))) }
            networks.append(network)
        }
        return .success(networks)
    }

    public struct ListError: Error, Equatable, CustomStringConvertible {
        public let entry: String
        public var description: String { "'\(entry)' is not an IPv4 or IPv6 network (like 10.1.0.0/16 or 2001:db8::/48)" }
    }

    /// The address's bytes: 4 for IPv4 and IPv4-mapped IPv6, 16 for other IPv6; nil for other text.
    /// A zone (`fe80::1%eth0`) is dropped.
    static func bytes(_ text: String) -> [UInt8]? {
        guard text.utf8.count <= 64 else { return nil }
        let host = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? ""
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff { return Array(bytes[12..<16]) }
        return bytes
    }

    static func masked(_ bytes: [UInt8], prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = min(max(prefix - index * 8, 0), 8)
            return keep == 8 ? byte : byte & ~(UInt8(0xff) >> keep)
        }
    }

    static func text(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { $0.copyBytes(from: bytes) }
        guard inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil else { return "::" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension [CIDR] {
    /// Whether any network contains `address`.
    public func anyContains(_ address: String) -> Bool { contains { $0.contains(address) } }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (the list separators of headers and settings).
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return Substring(self[first...last])
    }
}
