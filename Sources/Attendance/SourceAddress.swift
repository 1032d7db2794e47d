#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a client's address is keyed for failure counting.
enum SourceAddress {
    /// An IPv4 address as it is; an IPv6 address by its /64, because one subscriber or host usually
    /// owns a whole /64 and could otherwise rotate through 2^64 counters; an IPv4-mapped IPv6
    /// address as its IPv4 address. Text that is no address (tests, unknown peers) is kept, bounded.
    static func failureKey(_ address: String) -> String {
        let host = address.split(separator: "%", maxSplits: 1).first.map(String.init) ?? ""
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return host }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else {
            return host.isEmpty ? "unknown" : String(host.prefix(64))
        }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
