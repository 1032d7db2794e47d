import ArgumentParser
import EventLoop
import Glibc

/// A `ws://` or `http://` URL reduced to what the clients need: the address to connect to, the Host
/// header, and the path. Hosts are numeric addresses or `localhost`: the tool drives loopback
/// servers and does no DNS.
struct Endpoint {
    let url: String
    let address: SocketAddress
    /// `host:port` as the URL gave it (the Host header).
    let hostHeader: String
    /// The path without a trailing slash ("" for the API root); the hub URL defaults to "/ws".
    let path: String

    static func parse(_ url: String, option: String, schemes: [String], defaultPath: String) throws -> Endpoint {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw ValidationError("\(option) must be a URL like \(schemes[0])://127.0.0.1:8080")
        }
        let scheme = parts[0].lowercased()
        guard schemes.contains(scheme) else {
            throw ValidationError("\(option): scheme must be \(schemes.joined(separator: " or ")), not \(scheme)")
        }
        let rest = parts[1]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = String(rest[..<slash])
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        if path.isEmpty { path = defaultPath }
        let hasPort = authority.hasPrefix("[") ? authority.contains("]:") : authority.contains(":")
        if !hasPort { authority += ":80" }
        guard let address = try? SocketAddress(parsing: authority) else {
            throw ValidationError("\(option): '\(authority)' is not a numeric host:port (the tool does no DNS)")
        }
        return Endpoint(url: url, address: address, hostHeader: authority, path: path)
    }
}

/// Everything a run needs from the command line, resolved.
struct RunSettings {
    let hub: Endpoint
    let api: Endpoint?
    /// Source addresses WebSocket connections are spread over (empty: let the kernel choose).
    let sources: [SocketAddress]
    let signer: TeacherTokens
    let httpConnections: Int
    let connectConcurrency: Int
    let graceMs: UInt64
}

/// The value of an environment variable, if set.
func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
