/// An absolute `http://` or `https://` URL the server calls out to (an identity provider, a
/// webhook): scheme, host, port and the request-target. User info and fragments are refused, not
/// ignored: neither belongs in a configured endpoint.
public struct OutboundURL: Sendable, Equatable, CustomStringConvertible {
    public let isHTTPS: Bool
    /// A name, an IPv4 literal, or an IPv6 literal without brackets.
    public let host: String
    public let port: Int
    /// Path and query, starting with "/".
    public let target: String

    public static let maxLength = 4096

    public init?(_ text: String) {
        guard text.utf8.count <= Self.maxLength,
              text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !text.contains("#")
        else { return nil }
        let rest: Substring
        if text.hasPrefix("https://") { isHTTPS = true; rest = text.dropFirst(8) }
        else if text.hasPrefix("http://") { isHTTPS = false; rest = text.dropFirst(7) }
        else { return nil }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var target = String(rest[authorityEnd...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        var hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portPart = after.dropFirst()
            }
            guard hostPart.contains(":") else { return nil }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                hostPart = authority[..<colon]
                portPart = authority[authority.index(after: colon)...]
            } else {
                hostPart = authority
            }
            guard hostPart.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) else { return nil }
        }
        guard !hostPart.isEmpty else { return nil }
        if let portPart {
            guard let port = Int(portPart), (1...65535).contains(port) else { return nil }
            self.port = port
        } else {
            port = isHTTPS ? 443 : 80
        }
        host = hostPart.lowercased()
        self.target = target
    }

    /// Whether the host is this machine's loopback (where plain http is allowed).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.") && host.split(separator: ".").count == 4
    }

    /// Whether the host is an IP address literal (checked against the certificate's IP names, no SNI).
    public var isIPLiteral: Bool {
        host.contains(":") || (host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." })
    }

    /// The Host header value.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (isHTTPS ? 443 : 80) ? name : "\(name):\(port)"
    }

    public var description: String { (isHTTPS ? "https://" : "http://") + hostHeader + target }
}
