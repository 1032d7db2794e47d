import EventLoop
import WebSocket

/// A WebSocket echo server on the project's EventLoop and WebSocket modules alone, for the
/// Autobahn|TestSuite fuzzingclient (as uWebSockets and swift-nio ship theirs): text comes back as
/// text, binary as binary, pings are answered by the connection, and extensions such as
/// permessage-deflate are declined by not naming them in the 101.
final class EchoServer: WebSocketConnectionDelegate {
    let loop: EventLoop
    /// The largest message echoed: Autobahn's biggest cases (9.1.6, 9.2.6) send exactly 16 MiB. Echoes
    /// of a few of them may wait for a client that sends faster than it reads; the hub's 1 MiB
    /// slow-consumer limit would drop it, so 64 MiB may be queued.
    let settings = WebSocketServerSettings(maxMessageSize: 16 << 20, maxQueuedBytes: 64 << 20)
    private var server: TCPServer!
    private var open: [ObjectIdentifier: WebSocketConnection] = [:]
    private let sweep: LoopTimer

    init(loop: EventLoop, address: SocketAddress) throws {
        self.loop = loop
        sweep = LoopTimer(loop: loop)
        server = try TCPServer(loop: loop, address: address) { [unowned self] tcp in
            tcp.delegate = EchoUpgrader(server: self)
            tcp.startReading()
        }
        // A peer that never finishes a closing handshake is dropped (the connections arm no timers).
        sweep.start(timeoutMs: 1000, repeatMs: 1000) { [weak self] in
            guard let self else { return }
            for connection in self.open.values { connection.abortIfCloseDeadlinePassed(nowMs: self.loop.nowMs) }
        }
    }

    var address: SocketAddress { server.address }

    func accept(_ tcp: TCPConnection, leftover: [UInt8]) {
        let connection = WebSocketConnection(connection: tcp, settings: settings, delegate: self)
        open[ObjectIdentifier(connection)] = connection
        connection.start(leftover: leftover)
    }

    func didReceiveText(_ connection: WebSocketConnection, _ bytes: UnsafeRawBufferPointer) {
        connection.sendText(bytes)
    }

    func didReceiveBinary(_ connection: WebSocketConnection, _ bytes: UnsafeRawBufferPointer) {
        connection.sendBinary(bytes)
    }

    func didClose(_ connection: WebSocketConnection, code: UInt16, reason: String) {
        open[ObjectIdentifier(connection)] = nil
    }
}

/// Reads one HTTP request head (the HTTP module is deliberately not used), answers the upgrade and
/// hands the socket, with any bytes that followed the head, to the echo server.
final class EchoUpgrader: TCPConnectionDelegate {
    static let maxHeadBytes = 16 * 1024
    let server: EchoServer
    private var head: [UInt8] = []
    /// Where the search for the blank line resumes, so a head read byte by byte costs O(n).
    private var scanned = 0
    /// Set once a refusal is on its way out; later bytes are ignored.
    private var refused = false

    init(server: EchoServer) { self.server = server }

    func connectionDidRead(_ tcp: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        guard !refused else { return }
        head += bytes
        guard let end = headEnd() else {
            if head.count > Self.maxHeadBytes { refuse(tcp, status: "431 Request Header Fields Too Large") }
            return
        }
        let lines = String(decoding: head[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: true)
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return refuse(tcp, status: "400 Bad Request") }
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        let method = lines.first?.split(separator: " ").first.map(String.init) ?? ""
        switch WebSocketHandshake.validateServerRequest(method: method, header: { headers[$0.lowercased()] }) {
        case .failure(let error):
            refused = true
            tcp.write(WebSocketHandshake.rejectionBytes(for: error))
            tcp.shutdown()
        case .success(let accept):
            tcp.write(WebSocketHandshake.responseBytes(accept: accept))
            server.accept(tcp, leftover: Array(head[end...]))
        }
    }

    func connectionDidClose(_ tcp: TCPConnection, error: UVError?) {}

    private func refuse(_ tcp: TCPConnection, status: String) {
        refused = true
        tcp.write(Array("HTTP/1.1 \(status)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
        tcp.shutdown()
    }

    /// The index just past the blank line that ends the head, if it has arrived.
    private func headEnd() -> Int? {
        var i = max(scanned, 3)
        while i < head.count {
            if head[i] == 10, head[i - 1] == 13, head[i - 2] == 10, head[i - 3] == 13 { return i + 1 }
            i += 1
        }
        scanned = i
        return nil
    }
}
