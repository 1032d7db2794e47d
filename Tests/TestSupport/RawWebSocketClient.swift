import Foundation
import Glibc

/// A blocking WebSocket client on a plain socket, for tests that need a client that stops reading
/// for real: it reads its socket only when asked, and its receive buffer can be made small so the
/// hub's send queue fills after a few KiB instead of the several MiB loopback buffers absorb.
public final class RawWebSocketClient {
    private let fd: Int32
    private var inbox: [UInt8] = []
    public private(set) var isClosed = false

    /// Connects and upgrades `/ws?access_token=…`; nil if either fails.
    public init?(port: Int, token: String, receiveBuffer: Int32? = nil) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        if var size = receiveBuffer {
            // Before connect, so the window offered to the hub is small from the first byte.
            guard setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) == 0 else { Glibc.close(fd); return nil }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { Glibc.close(fd); return nil }
        let request = "GET /ws?access_token=\(token) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        guard writeAll(Array(request.utf8)) else { Glibc.close(fd); return nil }
        let end = Array("\r\n\r\n".utf8)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let range = inbox.firstRange(of: end) {
                let head = String(decoding: inbox[..<range.lowerBound], as: UTF8.self)
                inbox.removeSubrange(..<range.upperBound)
                guard head.hasPrefix("HTTP/1.1 101") else { Glibc.close(fd); return nil }
                return
            }
            guard fill(timeoutMs: 1000) else { break }
        }
        Glibc.close(fd)
        return nil
    }

    deinit { if !isClosed { Glibc.close(fd) } }

    /// Sends one masked text frame.
    public func sendText(_ text: String) {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame.append(0x80 | 126)
            frame.append(UInt8(payload.count >> 8)); frame.append(UInt8(payload.count & 0xff))
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        for (i, byte) in payload.enumerated() { frame.append(byte ^ mask[i % 4]) }
        _ = writeAll(frame)
    }

    /// The next message (text, or a close frame's payload with opcode 8); nil on timeout or EOF.
    public func readMessage(timeoutMs: Int = 10_000) -> (opcode: UInt8, payload: [UInt8])? {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while true {
            if let message = takeFrame() { return message }
            if isClosed || Date() >= deadline { return nil }
            _ = fill(timeoutMs: 200)
        }
    }

    /// Reads messages until one contains `needle`; returns every text message read, nil on timeout.
    public func readUntil(_ needle: String, timeoutMs: Int = 30_000) -> [String]? {
        var texts: [String] = []
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            guard let message = readMessage(timeoutMs: 1000) else { if isClosed { return nil }; continue }
            let text = String(decoding: message.payload, as: UTF8.self)
            texts.append(text)
            if text.contains(needle) { return texts }
        }
        return nil
    }

    public func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(fd)
    }

    private func takeFrame() -> (opcode: UInt8, payload: [UInt8])? {
        guard inbox.count >= 2 else { return nil }
        var length = Int(inbox[1] & 0x7f)
        var at = 2
        if length == 126 {
            guard inbox.count >= 4 else { return nil }
            length = Int(inbox[2]) << 8 | Int(inbox[3]); at = 4
        } else if length == 127 {
            guard inbox.count >= 10 else { return nil }
            length = (2..<10).reduce(0) { $0 << 8 | Int(inbox[$1]) }; at = 10
        }
        guard inbox.count >= at + length else { return nil }
        let opcode = inbox[0] & 0x0f
        let payload = Array(inbox[at..<at + length])
        inbox.removeSubrange(..<(at + length))
        return (opcode, payload)
    }

    /// One read with a timeout; false on timeout, EOF or error.
    private func fill(timeoutMs: Int) -> Bool {
        guard !isClosed else { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeoutMs)) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { close(); return false }
        inbox.append(contentsOf: buffer[0..<n])
        return true
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}

@available(*, unavailable)
extension RawWebSocketClient: Sendable {}
