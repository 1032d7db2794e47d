import EventLoop

/// The server side of one WebSocket, over a TCP connection whose HTTP upgrade was answered with
/// `WebSocketHandshake.responseBytes(accept:)`. Bound to one loop.
///
/// Closing: `close(code:reason:)` sends a close frame and waits for the peer's; then the TCP connection
/// is shut down (FIN after the last queued byte, RFC 6455 §7.1.1 has the server close first). No timer
/// is armed per connection: every closing state sets `closeDeadlineMs`, and the owner's periodic sweep
/// calls `abortIfCloseDeadlinePassed(nowMs:)` so a peer that never answers (or never reads) is dropped.
/// Keep-alive is the owner's sweep too: it reads `lastReceivedMs`, `lastPingMs` and `unansweredPings`.
///
/// Backpressure: after each send, including the pongs the connection writes itself, if the bytes the
/// kernel did not take (`TCPConnection.unsentBytes`, corked replies included) exceed the settings'
/// `maxQueuedBytes`, the connection is dropped at once with 1013 "slow consumer".
///
/// Every idle connection holds this object, so it keeps only what differs per connection: the
/// limits, the scratch buffer and the close reason (needed only once closing) are in the loop's
/// `WebSocketServerSettings`, and the loop is the TCP connection's. The small fields follow the
/// parser so they share its last word. `EndToEndTests.testConnectionInstanceIsSmall` holds the size down.
public final class WebSocketConnection: TCPConnectionDelegate, WebSocketEndpoint {
    public let tcp: TCPConnection
    /// Shared by every connection of the loop (one per loop, not per connection).
    public let settings: WebSocketServerSettings
    /// Retained until `didClose` has been called, then released.
    public var delegate: WebSocketConnectionDelegate?
    var parser: WebSocketFrameParser
    /// Pings sent by `sendPing()` since the peer last sent anything.
    public private(set) var unansweredPings: UInt8 = 0
    var state = WebSocketState.open {
        didSet { if oldValue == .open && state != .open { pingOrDeadlineMs = 0 } }
    }
    /// 0 until a close frame was sent or received.
    var closeCode: UInt16 = 0
    /// Loop time (`EventLoop.nowMs`) when bytes last arrived from the peer.
    public private(set) var lastReceivedMs: UInt64 = 0
    /// While open, the loop time of the last `sendPing()` (0 before the first); once closing, the
    /// close deadline. One field, as the two are never needed at once.
    private var pingOrDeadlineMs: UInt64 = 0

    /// Loop time after which a closing connection should be dropped; 0 while open.
    public var closeDeadlineMs: UInt64 { state == .open ? 0 : pingOrDeadlineMs }
    /// Loop time (`EventLoop.nowMs`) of the last `sendPing()`; 0 before the first, and once closing.
    public var lastPingMs: UInt64 { state == .open ? pingOrDeadlineMs : 0 }

    public init(connection: TCPConnection, settings: WebSocketServerSettings, delegate: WebSocketConnectionDelegate?) {
        tcp = connection
        self.settings = settings
        self.delegate = delegate
        parser = WebSocketFrameParser(role: .server, maxMessageSize: settings.maxMessageSize)
    }

    deinit {
        if !settings.closeReasons.isEmpty { settings.closeReasons[ObjectIdentifier(self)] = nil }
    }

    /// Kept in the settings' table while set (only a closing connection has one), until `didClose`.
    var closeReason: String {
        get { settings.closeReasons.isEmpty ? "" : settings.closeReasons[ObjectIdentifier(self)] ?? "" }
        set { settings.closeReasons[ObjectIdentifier(self)] = newValue.isEmpty ? nil : newValue }
    }

    /// Takes over the TCP connection's reads. `leftover` are bytes that arrived after the upgrade
    /// request in the same read; they are parsed first.
    public func start(leftover: [UInt8] = []) {
        lastReceivedMs = tcp.loop.nowMs
        tcp.delegate = self
        if !leftover.isEmpty { leftover.withUnsafeBytes { process($0) } }
        tcp.startReading()
    }

    public var isOpen: Bool { state == .open }

    // MARK: sending

    /// Sends one text frame (the caller vouches for valid UTF-8).
    public func sendText(_ bytes: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        writeFrame(.text, bytes)
        checkBackpressure()
    }

    public func sendText(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { sendText($0) }
    }

    /// Sends one binary frame.
    public func sendBinary(_ bytes: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        writeFrame(.binary, bytes)
        checkBackpressure()
    }

    public func sendBinary(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { sendBinary($0) }
    }

    /// Sends a frame built once by `WebSocketFrameEncoder` and shared by every receiver.
    public func send(frame: ByteBuffer) {
        guard state == .open else { return }
        tcp.write(frame)
        checkBackpressure()
    }

    /// Sends an empty ping, counts it in `unansweredPings` until the peer sends anything, and notes
    /// the time in `lastPingMs`.
    public func sendPing() {
        guard state == .open else { return }
        writeFrame(.ping, UnsafeRawBufferPointer(start: nil, count: 0))
        if unansweredPings < .max { unansweredPings += 1 }
        pingOrDeadlineMs = tcp.loop.nowMs
        checkBackpressure()
    }

    // MARK: closing

    /// Starts the closing handshake. Messages that arrive before the peer's close frame are dropped.
    public func close(code: UInt16 = WebSocketCloseCode.normal, reason: String = "") {
        startClosingHandshake(code: code, reason: reason)
    }

    /// Drops the TCP connection now, without a closing handshake (for a peer that stopped answering).
    /// `didClose` reports `code` unless a close frame was already exchanged.
    public func abort(code: UInt16 = WebSocketCloseCode.abnormal, reason: String = "") {
        guard state != .closed else { return }
        if closeCode == 0 { closeCode = code; closeReason = reason }
        state = .closed
        tcp.close()
    }

    /// For the owner's sweep: drops a closing connection whose peer did not finish in time.
    @discardableResult
    public func abortIfCloseDeadlinePassed(nowMs: UInt64) -> Bool {
        guard closeDeadlineMs != 0, nowMs >= closeDeadlineMs, state != .closed else { return false }
        abort()
        return true
    }

    // MARK: TCPConnectionDelegate

    public func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        lastReceivedMs = tcp.loop.nowMs
        unansweredPings = 0
        process(bytes)
    }

    public func connectionDidDrain(_ connection: TCPConnection) {
        if state == .open { delegate?.didDrain(self) }
    }

    public func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        state = .closed
        let delegate = self.delegate
        self.delegate = nil
        let reason = closeReason
        closeReason = ""
        delegate?.didClose(self, code: reportedCloseCode, reason: reason)
    }

    // MARK: WebSocketEndpoint (the frame loop and the closing handshake live in its extension)

    var unmaskScratch: WebSocketServerSettings? { settings }

    static var closesTCPFirst: Bool { true }

    func deliver(_ event: WebSocketEvent) {
        switch event {
        case .text(let bytes): delegate?.didReceiveText(self, bytes)
        case .binary(let bytes): delegate?.didReceiveBinary(self, bytes)
        case .pong, .ping, .close: break
        }
    }

    /// Fails the connection: the mapped close frame, then shutdown; a slow consumer is dropped at once.
    func fail(_ error: WebSocketError) {
        guard state == .open || state == .closeSent else { return }
        if state == .open {
            closeCode = error.closeCode
            closeReason = error.closeReason
        }
        if error == .slowConsumer {
            // A close frame cannot overtake the bytes already queued (TCP is one ordered stream), and
            // waiting for them is what a slow consumer makes us do: drop the queue and the connection.
            abort()
            return
        }
        if state == .open { writeClose(code: error.closeCode, reason: error.closeReason) }
        state = .closing
        armCloseDeadline()
        tcp.shutdown()
    }

    func checkBackpressure() {
        if tcp.unsentBytes > settings.maxQueuedBytes { fail(.slowConsumer) }
    }

    func armCloseDeadline() {
        // Called on each closing step; the first one sets the deadline (leaving `.open` cleared the field).
        if pingOrDeadlineMs == 0 { pingOrDeadlineMs = tcp.loop.nowMs + UInt64(settings.closeTimeoutMs) }
    }

    /// Frames into a temporary (on the stack for small frames) so header and payload leave in one write;
    /// the connection copies only what the kernel does not take.
    func writeFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        let size = WebSocketFrameEncoder.frameSize(payloadCount: payload.count, masked: false)
        withUnsafeTemporaryAllocation(byteCount: size, alignment: 16) { buffer in
            WebSocketFrameEncoder.encode(opcode: opcode, payload: payload, into: buffer)
            tcp.write(UnsafeRawBufferPointer(buffer))
        }
    }
}

@available(*, unavailable)
extension WebSocketConnection: Sendable {}
