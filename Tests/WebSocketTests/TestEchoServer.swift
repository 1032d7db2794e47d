import EventLoop
import Foundation
@testable import WebSocket

/// A tiny WebSocket echo server for the end-to-end tests: a TCPServer, a minimal request-head reader
/// (the HTTP module is not used here), `WebSocketHandshake` and `WebSocketConnection`.
final class TestEchoServer: WebSocketConnectionDelegate {
    let loop: EventLoop
    let settings = WebSocketServerSettings()
    var server: TCPServer!
    var connections: [WebSocketConnection] = []
    var texts: [String] = []
    var closes: [(code: UInt16, reason: String)] = []
    /// When false, text is recorded but not echoed.
    var echo = true

    init(loop: EventLoop, port: Int = 0) throws {
        self.loop = loop
        server = try TCPServer(loop: loop, address: SocketAddress(host: "127.0.0.1", port: port)) { [unowned self] tcp in
            tcp.delegate = TestUpgrader(server: self)
            tcp.startReading()
        }
    }

    var address: SocketAddress { server.address }

    func didReceiveText(_ connection: WebSocketConnection, _ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        texts.append(text)
        if text == "close-me" {
            connection.close(code: 4001, reason: "done")
        } else if echo {
            connection.sendText(bytes)
        }
    }

    func didClose(_ connection: WebSocketConnection, code: UInt16, reason: String) {
        closes.append((code, reason))
    }

    func stop() {
        server.close()
        for connection in connections { connection.abort() }
    }
}

/// Reads a request head, then hands the socket to a `WebSocketConnection` (or refuses it).
final class TestUpgrader: TCPConnectionDelegate {
    unowned let server: TestEchoServer
    var head: [UInt8] = []

    init(server: TestEchoServer) { self.server = server }

    func connectionDidRead(_ tcp: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        head += bytes
        guard let end = headEnd() else {
            if head.count > 16 * 1024 { tcp.close() }
            return
        }
        let leftover = Array(head[end...])
        let lines = String(decoding: head[..<end], as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let requestLine = lines.first?.split(separator: " ") ?? []
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        let method = requestLine.first.map(String.init) ?? ""
        if requestLine.count > 1 && requestLine[1] == "/reject" {
            tcp.write(WebSocketHandshake.rejectionBytes(for: .invalidKey))
            tcp.shutdown()
            return
        }
        switch WebSocketHandshake.validateServerRequest(method: method, header: { headers[$0.lowercased()] }) {
        case .failure(let error):
            tcp.write(WebSocketHandshake.rejectionBytes(for: error))
            tcp.shutdown()
        case .success(let accept):
            tcp.write(WebSocketHandshake.responseBytes(accept: accept))
            let connection = WebSocketConnection(connection: tcp, settings: server.settings, delegate: server)
            server.connections.append(connection)
            connection.start(leftover: leftover)
        }
    }

    func connectionDidClose(_ tcp: TCPConnection, error: UVError?) {}

    private func headEnd() -> Int? {
        guard head.count >= 4 else { return nil }
        for i in 0...(head.count - 4) where head[i] == 13 && head[i + 1] == 10 && head[i + 2] == 13 && head[i + 3] == 10 {
            return i + 4
        }
        return nil
    }
}

/// Records what a `WebSocketClient` reports.
final class TestClientDelegate: WebSocketClientDelegate {
    var texts: [String] = []
    var textCount = 0
    var pongs = 0
    var close: (code: UInt16, reason: String)?

    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {
        textCount += 1
        if bytes.count < 1024 { texts.append(String(decoding: bytes, as: UTF8.self)) }
    }

    func didReceivePong(_ client: WebSocketClient) { pongs += 1 }

    func didClose(_ client: WebSocketClient, code: UInt16, reason: String) { close = (code, reason) }
}

/// A plain TCP client that records every byte, for exchanges WebSocketClient would not make.
final class RawClient: TCPConnectionDelegate {
    var tcp: TCPConnection?
    var received: [UInt8] = []
    var closed = false

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) { received += bytes }
    func connectionDidClose(_ connection: TCPConnection, error: UVError?) { closed = true }
}
