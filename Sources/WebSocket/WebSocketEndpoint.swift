import EventLoop

/// Where a WebSocket endpoint is in its life. The server side starts `open` (its upgrade was answered
/// before the connection object exists); the client starts `handshaking`.
enum WebSocketState: UInt8 {
    /// The client's upgrade request is out; the server's 101 has not arrived yet.
    case handshaking
    case open
    /// Our close frame is out; waiting for the peer's.
    case closeSent
    /// Close frames exchanged, or the connection failed: the TCP shutdown is under way.
    case closing
    case closed
}

/// What the server's `WebSocketConnection` and the `WebSocketClient` share once the upgrade is done:
/// the frame loop, answering pings, and both directions of the closing handshake. Each side keeps
/// what truly differs: delivery to its own delegate type, masking, how a close is timed out, and how
/// a failure ends the connection.
///
/// The extension's methods are called only on the two final classes, so they are specialized for
/// them: no existential, no allocation and no witness-table call per frame in an optimized build.
/// The protocol adds no stored property to either class.
protocol WebSocketEndpoint: AnyObject {
    var tcp: TCPConnection { get }
    var state: WebSocketState { get set }
    var parser: WebSocketFrameParser { get set }
    /// 0 until a close frame was sent or received.
    var closeCode: UInt16 { get set }
    var closeReason: String { get set }
    /// The loop's settings, whose buffer unmasks, on the server; nil on the client, whose peer does not mask.
    var unmaskScratch: WebSocketServerSettings? { get }
    /// Whether this side shuts the TCP connection down as soon as close frames were exchanged. The
    /// server does (RFC 6455 §7.1.1), so TIME_WAIT stays on its side and a load generator does not run
    /// out of ports; the client waits for it, with its close timer covering a server that does not.
    static var closesTCPFirst: Bool { get }

    /// Frames `payload` (masked or not, as this side must) and writes it in one write.
    func writeFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer)
    /// Hands a `.text`, `.binary` or `.pong` event to the delegate; called only while open.
    func deliver(_ event: WebSocketEvent)
    /// Makes sure a closing connection whose peer never finishes is dropped after a while.
    func armCloseDeadline()
    /// Fails the connection for an error the parser found.
    func fail(_ error: WebSocketError)
    /// Called after a pong was queued: the server holds it to its send-queue limit like any reply, so a
    /// peer sending pings without reading cannot grow the queue.
    func checkBackpressure()
}

extension WebSocketEndpoint {
    /// The code `didClose` reports: that of the close frame that began the handshake, else 1006.
    var reportedCloseCode: UInt16 { closeCode == 0 ? WebSocketCloseCode.abnormal : closeCode }

    /// Parses and handles every complete frame in `bytes`, stopping once the connection is closing.
    func process(_ bytes: UnsafeRawBufferPointer) {
        var input = bytes
        while state == .open || state == .closeSent {
            let event: WebSocketEvent?
            do {
                event = try parser.next(&input, scratch: unmaskScratch)
            } catch {
                fail(error)
                return
            }
            guard let event else { return }
            handle(event)
        }
    }

    /// Sends our close frame and waits for the peer's. Messages that arrive before it are dropped.
    func startClosingHandshake(code: UInt16, reason: String) {
        guard state == .open else { return }
        closeCode = code
        closeReason = reason
        writeClose(code: code, reason: reason)
        state = .closeSent
        armCloseDeadline()
    }

    func writeClose(code: UInt16, reason: String) {
        WebSocketFrameEncoder.withClosePayload(code: code, reason: reason) { writeFrame(.close, $0) }
    }

    /// Must not touch `parser`: the event may borrow its buffer.
    private func handle(_ event: WebSocketEvent) {
        switch event {
        case .text, .binary, .pong:
            if state == .open { deliver(event) }
        case .ping(let bytes):
            if state == .open {
                writeFrame(.pong, bytes)
                checkBackpressure()
            }
        case .close(let code, let reason):
            if state == .open {
                // The peer began: echo its code (§5.5.1), then close our side.
                closeCode = code ?? WebSocketCloseCode.noStatus
                closeReason = reason
                if let code {
                    writeClose(code: code, reason: "")
                } else {
                    writeFrame(.close, UnsafeRawBufferPointer(start: nil, count: 0))
                }
            }
            state = .closing
            armCloseDeadline()
            if Self.closesTCPFirst { tcp.shutdown() }
        }
    }
}
