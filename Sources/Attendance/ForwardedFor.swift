/// The client address of a request that may have come through reverse proxies.
public enum ForwardedFor {
    /// Most addresses read from X-Forwarded-For; a longer chain is not a real deployment.
    static let maxHops = 32

    /// `peer` unless it is one of `trusted`; then the right-most address in the X-Forwarded-For
    /// `values` (every header, in order, each a comma list) that is not itself trusted — the
    /// addresses left of it were written by the client and prove nothing. Anything malformed in
    /// the part of the chain that is read, or a chain of only trusted proxies, falls back to `peer`.
    public static func clientAddress(peer: String, headerValues values: [String], trusted: [CIDR]) -> String {
        guard !trusted.isEmpty, !values.isEmpty, trusted.anyContains(peer) else { return peer }
        let hops = values.joined(separator: ",").split(separator: ",", omittingEmptySubsequences: false)
        for hop in hops.reversed().prefix(maxHops) {
            let address = String(hop.trimmingSpaces)
            guard CIDR.bytes(address) != nil else { return peer }
            if !trusted.anyContains(address) { return address }
        }
        return peer
    }
}
