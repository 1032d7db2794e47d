@preconcurrency import CLibUV
import Glibc

/// An IPv4 or IPv6 address with port, parsed from "host:port" or "[v6]:port".
public struct SocketAddress: CustomStringConvertible, Sendable {
    public let host: String
    public let port: Int
    var storage: sockaddr_storage

    public init(host: String, port: Int) throws(UVError) {
        guard (0...65535).contains(port) else { throw UVError(Int32(UV_EINVAL.rawValue)) }
        self.host = host
        self.port = port
        storage = sockaddr_storage()
        let rc: Int32 = withUnsafeMutablePointer(to: &storage) { p in
            if host.contains(":") {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(host, Int32(port), $0) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(host, Int32(port), $0) }
        }
        try uvCheck(rc)
    }

    /// Parses "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (localhost means 127.0.0.1).
    public init(parsing text: String) throws(UVError) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw UVError(Int32(UV_EINVAL.rawValue)) }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw UVError(Int32(UV_EINVAL.rawValue)) }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        if hostPart == "localhost" { hostPart = "127.0.0.1" }
        guard let port = Int(portPart) else { throw UVError(Int32(UV_EINVAL.rawValue)) }
        try self.init(host: String(hostPart), port: port)
    }

    init(storage: sockaddr_storage) {
        self.storage = storage
        var buffer = [CChar](repeating: 0, count: 64)
        var port = 0
        var s = storage
        withUnsafePointer(to: &s) { p in
            if Int32(storage.ss_family) == AF_INET6 {
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { a in
                    _ = uv_ip6_name(a, &buffer, buffer.count)
                    port = Int(UInt16(bigEndian: a.pointee.sin6_port))
                }
            } else {
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { a in
                    _ = uv_ip4_name(a, &buffer, buffer.count)
                    port = Int(UInt16(bigEndian: a.pointee.sin_port))
                }
            }
        }
        host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.port = port
    }

    /// A socket's own or peer address: `query` is `getsockname` or `getpeername`. Nil if it fails.
    init?(of fd: Int32, _ query: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { query(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        self.init(storage: storage)
    }

    var isIPv6: Bool { Int32(storage.ss_family) == AF_INET6 }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        var s = storage
        return withUnsafePointer(to: &s) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }

    var length: socklen_t {
        socklen_t(isIPv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
