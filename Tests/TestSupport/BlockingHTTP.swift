import Foundation
import Glibc

/// One answer of `httpRequest`: status, body, and how long it took (seconds).
public struct BlockingHTTPResponse {
    public let status: Int
    public let body: String
    public let seconds: Double

    /// The body as a JSON object (nil when it is not one).
    public var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    /// `error.code` of an error body.
    public var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
}

/// A blocking HTTP/1.0 request on loopback with a receive deadline, for fault tests that must see a
/// request hang or not: nil when the connection was refused, or when nothing complete came back
/// within `timeout` seconds.
public func httpRequest(port: Int, method: String, path: String, token: String? = nil, json: String? = nil,
                        timeout: Double = 30) -> BlockingHTTPResponse? {
    let started = Date()
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { return nil }
    var request = "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n"
    if let token { request += "Authorization: Bearer \(token)\r\n" }
    let body = Array((json ?? "").utf8)
    if json != nil { request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
    let bytes = Array((request + "\r\n").utf8) + body
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while Date().timeIntervalSince(started) < timeout {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        data.append(contentsOf: buffer[0..<n])
    }
    let text = String(decoding: data, as: UTF8.self)
    guard text.hasPrefix("HTTP/1."), text.count > 12, let status = Int(text.dropFirst(9).prefix(3)),
          let split = text.range(of: "\r\n\r\n") else { return nil }
    return BlockingHTTPResponse(status: status, body: String(text[split.upperBound...]), seconds: Date().timeIntervalSince(started))
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass; returns whether it held.
@discardableResult
public func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { return false }
        usleep(20_000)
    }
    return true
}
