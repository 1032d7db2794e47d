import COpenSSL
import EventLoop

/// A WebSocket client on one loop, for the load tool and tests. Frames are masked with a fresh key each
/// (from a per-client xorshift generator seeded once from OpenSSL: masking protects proxies from
/// cache poisoning, it is not secrecy, so a CSPRNG call per frame would only cost time).
public final class WebSocketClient: TCPConnectionDelegate, WebSocketEndpoint {
    /// Default `maxMessageSize`: generous, since a client reads what a trusted server sends
    /// (snapshots of large classes included).
    public static let defaultMaxMessageSize = 16 << 20
    /// How long the client waits for the server to finish a closing handshake.
    public static let closeTimeoutMs: UInt64 = 5000

    let tcp: TCPConnection
    /// Checked: used only to arm the close timer; the loop outlives its clients.
    unowned let loop: EventLoop
    /// Retained until `didClose` has been called, then released.
    public var delegate: WebSocketClientDelegate?
    var handshake: WebSocketHandshakeResponseParser?
    var completion: ((Result<WebSocketClient, WebSocketClientError>) -> Void)?
    var parser: WebSocketFrameParser
    var closeTimer: LoopTimer?
    var closeReason = ""
    var closeCode: UInt16 = 0
    var random: UInt64
    var state = WebSocketState.handshaking

    /// Connects, sends the upgrade request for `path` (with its query) and calls `completion` once: with
    /// the open client, or with why it failed. Set `delegate` in the completion; messages the server
    /// sent right after its 101 are delivered just after the completion returns.
    public static func connect(loop: EventLoop, address: SocketAddress, host: String, path: String,
                               source: SocketAddress? = nil, extraHeaders: [(String, String)] = [],
                               maxMessageSize: Int = WebSocketClient.defaultMaxMessageSize,
                               completion: @escaping (Result<WebSocketClient, WebSocketClientError>) -> Void) {
        TCPConnection.connect(loop: loop, to: address, from: source) { result in
            switch result {
            case .failure(let error):
                completion(.failure(.connectFailed(error)))
            case .success(let tcp):
                let key = WebSocketHandshake.randomKey()
                let client = WebSocketClient(tcp: tcp, loop: loop, key: key, maxMessageSize: maxMessageSize,
                                             completion: completion)
                tcp.delegate = client
                tcp.write(WebSocketHandshake.clientRequest(host: host, path: path, key: key, extraHeaders: extraHeaders))
                tcp.startReading()
            }
        }
    }

    init(tcp: TCPConnection, loop: EventLoop, key: String, maxMessageSize: Int,
         completion: @escaping (Result<WebSocketClient, WebSocketClientError>) -> Void) {
        self.tcp = tcp
        self.loop = loop
        self.completion = completion
        handshake = WebSocketHandshakeResponseParser(key: key)
        parser = WebSocketFrameParser(role: .client, maxMessageSize: maxMessageSize)
        var seed: UInt64 = 0
        if withUnsafeMutableBytes(of: &seed, { RAND_bytes($0.baseAddress!.assumingMemoryBound(to: UInt8.self), 8) }) != 1 {
            seed = EventLoop.monotonicNs()
        }
        random = seed | 1
    }

    public var isOpen: Bool { state == .open }

    /// Bytes handed to the socket but not yet taken by the kernel.
    public var queuedBytes: Int { tcp.queuedBytes }

    // MARK: sending

    public func sendText(_ bytes: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        writeFrame(.text, bytes)
    }

    public func sendText(_ bytes: [UInt8]) { bytes.withUnsafeBytes { sendText($0) } }

    public func sendText(_ text: String) {
        var text = text
        text.withUTF8 { sendText(UnsafeRawBufferPointer($0)) }
    }

    public func sendBinary(_ bytes: UnsafeRawBufferPointer) {
        guard state == .open else { return }
        writeFrame(.binary, bytes)
    }

    public func sendBinary(_ bytes: [UInt8]) { bytes.withUnsafeBytes { sendBinary($0) } }

    public func sendPing(_ payload: [UInt8] = []) {
        guard state == .open else { return }
        payload.withUnsafeBytes { writeFrame(.ping, UnsafeRawBufferPointer(rebasing: $0.prefix(125))) }
    }

    /// Writes bytes as they are, framed or not (tests use it to send malformed frames).
    public func sendRaw(_ bytes: [UInt8]) {
        guard state != .closed else { return }
        tcp.write(bytes)
    }

    /// Stops reading from the socket (a test's stand-in for a client that stops reading).
    public func pauseReading() { tcp.stopReading() }

    public func resumeReading() { tcp.startReading() }

    // MARK: closing

    /// Starts the closing handshake; `didClose` follows when the server closes the connection (or after
    /// `closeTimeoutMs`).
    public func close(code: UInt16 = WebSocketCloseCode.normal, reason: String = "") {
        startClosingHandshake(code: code, reason: reason)
    }

    /// Drops the connection without a closing handshake.
    public func disconnect() {
        guard state != .closed else { return }
        state = .closed
        tcp.close()
    }

    // MARK: TCPConnectionDelegate

    public func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        var input = bytes
        if handshake != nil {
            do {
                guard try handshake?.parse(&input) == true else { return }
            } catch {
                finishHandshake(.failure(error))
                state = .closed
                tcp.close()
                return
            }
            handshake = nil
            state = .open
            finishHandshake(.success(self))
        }
        process(input)
    }

    public func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        let wasHandshaking = state == .handshaking
        state = .closed
        closeTimer?.close()
        closeTimer = nil
        if wasHandshaking || completion != nil {
            finishHandshake(.failure(.closedDuringHandshake))
            return
        }
        let delegate = self.delegate
        self.delegate = nil
        delegate?.didClose(self, code: reportedCloseCode, reason: closeReason)
    }

    // MARK: internals

    private func finishHandshake(_ result: Result<WebSocketClient, WebSocketClientError>) {
        guard let completion else { return }
        self.completion = nil
        completion(result)
    }

    // MARK: WebSocketEndpoint (the frame loop and the closing handshake live in its extension)

    var unmaskScratch: WebSocketServerSettings? { nil }

    static var closesTCPFirst: Bool { false }

    func deliver(_ event: WebSocketEvent) {
        switch event {
        case .text(let bytes): delegate?.didReceiveText(self, bytes)
        case .binary(let bytes): delegate?.didReceiveBinary(self, bytes)
        case .pong: delegate?.didReceivePong(self)
        case .ping, .close: break
        }
    }

    func fail(_ error: WebSocketError) {
        guard state == .open || state == .closeSent else { return }
        if state == .open {
            closeCode = error.closeCode
            closeReason = error.closeReason
            writeClose(code: error.closeCode, reason: error.closeReason)
        }
        state = .closing
        tcp.shutdown()
    }

    /// A client trusts its server to read; it sets no send-queue limit.
    func checkBackpressure() {}

    func armCloseDeadline() {
        guard closeTimer == nil else { return }
        let timer = LoopTimer(loop: loop)
        closeTimer = timer
        timer.start(timeoutMs: Self.closeTimeoutMs) { [unowned self] in
            self.disconnect()
        }
    }

    private func nextMaskKey() -> UInt32 {
        // xorshift64*: one multiply per frame, good enough spread for mask keys.
        random ^= random >> 12
        random ^= random << 25
        random ^= random >> 27
        return UInt32(truncatingIfNeeded: (random &* 0x2545_F491_4F6C_DD1D) >> 32)
    }

    func writeFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) {
        let size = WebSocketFrameEncoder.frameSize(payloadCount: payload.count, masked: true)
        let key = nextMaskKey()
        withUnsafeTemporaryAllocation(byteCount: size, alignment: 16) { buffer in
            WebSocketFrameEncoder.encode(opcode: opcode, payload: payload, maskKey: key, into: buffer)
            tcp.write(UnsafeRawBufferPointer(buffer))
        }
    }
}

@available(*, unavailable)
extension WebSocketClient: Sendable {}
