/// How a client's address is keyed for failure counting.
enum SourceAddress {
    /// An IPv4 address as it is; an IPv6 address by its /64, because one subscriber or host usually
    /// owns a whole /64 and could otherwise rotate through 2^64 counters; an IPv4-mapped IPv6
    /// address as its IPv4 address. Text that is no address (tests, unknown peers) is kept, bounded.
    static func failureKey(_ address: String) -> String {
        guard let bytes = CIDR.bytes(address) else {
            let host = address.split(separator: "%", maxSplits: 1).first.map(String.init) ?? ""
            return host.isEmpty ? "unknown" : String(host.prefix(64))
        }
        if bytes.count == 4 { return CIDR.text(bytes) }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
