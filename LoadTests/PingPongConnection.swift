import EventLoop
import Glibc
import JSON
import WebSocket

/// One pingpong connection. It does its own upgrade (with the WebSocket module's request builder and
/// response parser) and then reads frames straight off its `TCPConnection` with a client-role
/// `WebSocketFrameParser`, which hands each small frame over in place, frames split across reads
/// included: no per-message allocation, no delegate hop, no JSON tree per reply.
///
/// Replies come back in request order on one connection, so the send time of each ping in flight is
/// kept in a ring of `depth` slots: the pong for slot k (id "k") closes slot k's latency, and frame k
/// goes out again. Every write made while handling one read is corked by `TCPConnection` into one
/// write at the end of the read.
final class PingPongConnection: TCPConnectionDelegate {
    enum State: UInt8 { case connecting, handshaking, open, closing, closed }

    unowned(unsafe) let scenario: PingPongScenario
    unowned(unsafe) let batch: PingBatch
    private(set) var state = State.connecting
    private var tcp: TCPConnection?
    private var handshake: WebSocketHandshakeResponseParser?
    private var parser = WebSocketFrameParser(role: .client)
    /// Send time (monotonic ns) of the ping in flight in each slot; allocated when pinging starts.
    private var sentAt: UnsafeMutablePointer<UInt64>?
    private var head = 0
    /// Replies still to be checked in full (type and id) before the byte-prefix check alone is trusted.
    private var fullChecksLeft: Int

    /// How many of each connection's first replies are parsed as JSON and checked completely.
    static let fullChecks = 4

    init(scenario: PingPongScenario, batch: PingBatch) {
        self.scenario = scenario
        self.batch = batch
        fullChecksLeft = min(batch.depth, Self.fullChecks)
    }

    deinit { sentAt?.deallocate() }

    // MARK: connecting

    /// Connects and upgrades; the scenario hears `connectionSettled` exactly once.
    func connect(address: SocketAddress, source: SocketAddress?, host: String, path: String) {
        TCPConnection.connect(loop: scenario.run.loop, to: address, from: source) { [self] result in
            switch result {
            case .failure(let error):
                state = .closed
                scenario.connectionSettled(self, failure: error, kind: nil)
            case .success(let tcp):
                self.tcp = tcp
                state = .handshaking
                let key = WebSocketHandshake.randomKey()
                handshake = WebSocketHandshakeResponseParser(key: key)
                tcp.delegate = self
                tcp.write(WebSocketHandshake.clientRequest(host: host, path: path, key: key))
                tcp.startReading()
            }
        }
    }

    /// Puts all `depth` pings in flight with one write.
    func startPinging(nowNs: UInt64) {
        guard state == .open, let tcp else { return }
        let ring = UnsafeMutablePointer<UInt64>.allocate(capacity: batch.depth)
        ring.initialize(repeating: nowNs, count: batch.depth)
        sentAt = ring
        head = 0
        tcp.write(batch.all)
    }

    /// Starts the closing handshake; the server's close (or its closing the socket) ends it.
    /// Returns false when there was nothing open to close.
    func close() -> Bool {
        guard state == .open, let tcp else {
            if state == .handshaking { state = .closed; tcp?.close() }
            return false
        }
        state = .closing
        let frame = WebSocketFrameEncoder.closeFrame(code: WebSocketCloseCode.normal, maskKey: PingBatch.maskKey)
        tcp.write(frame)
        return true
    }

    // MARK: TCPConnectionDelegate

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        var input = bytes
        if state == .handshaking {
            do {
                guard try handshake?.parse(&input) == true else { return }
            } catch {
                let why: String
                switch error {
                case .handshakeFailed(let text): why = "ws handshake: " + String(text.prefix(60))
                default: why = "ws handshake: \(error)"
                }
                state = .closed
                connection.close()
                scenario.connectionSettled(self, failure: nil, kind: why)
                return
            }
            handshake = nil
            state = .open
            scenario.connectionSettled(self, failure: nil, kind: nil)
        }
        guard input.count > 0, state == .open || state == .closing else { return }
        readFrames(input, connection)
    }

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        let previous = state
        state = .closed
        tcp = nil
        switch previous {
        case .handshaking:
            scenario.connectionSettled(self, failure: nil, kind: "ws closed during handshake")
        case .open:
            scenario.connectionLost(reason: error.map { "connection lost: \($0.name)" } ?? "connection closed by the server")
        case .connecting, .closing, .closed:
            break
        }
    }

    // MARK: frames

    private func readFrames(_ bytes: UnsafeRawBufferPointer, _ connection: TCPConnection) {
        // One clock read per read: every pong in it arrived together, and the pings sent in answer go
        // out together when the read's cork is flushed.
        let now = EventLoop.monotonicNs()
        let firstSlot = head
        // Worked on as locals and stored back once: this target keeps runtime exclusivity checks,
        // which would otherwise cost one per frame.
        var parser = self.parser
        var head = self.head
        defer {
            self.parser = parser
            self.head = head
        }
        var replies = 0
        var pongs = 0
        // Pings that went out in one write come back with one latency: record runs, not samples.
        var runNs: UInt64 = 0
        var runCount: UInt64 = 0
        var input = bytes
        frames: while true {
            let event: WebSocketEvent?
            do {
                event = try parser.next(&input, scratch: nil)
            } catch {
                scenario.run.errors.add("ws protocol: \(error.closeReason)")
                state = .closed
                connection.close()
                break frames
            }
            guard let event else { break frames }
            switch event {
            case .text(let payload):
                guard state == .open, let sentAt else { continue }
                let slot = head
                head = slot + 1 == batch.depth ? 0 : slot + 1
                replies += 1
                if isPong(payload, slot: slot) {
                    pongs += 1
                    let latency = now &- sentAt[slot]
                    if latency == runNs {
                        runCount += 1
                    } else {
                        if runCount > 0 { scenario.record(latencyNs: runNs, count: runCount) }
                        runNs = latency
                        runCount = 1
                    }
                }
            case .ping(let payload):
                let size = WebSocketFrameEncoder.frameSize(payloadCount: payload.count, masked: true)
                withUnsafeTemporaryAllocation(byteCount: size, alignment: 16) { frame in
                    WebSocketFrameEncoder.encode(opcode: .pong, payload: payload, maskKey: PingBatch.maskKey, into: frame)
                    connection.write(UnsafeRawBufferPointer(frame))
                }
            case .close(let code, let reason):
                if state == .open {
                    state = .closing
                    scenario.connectionLost(reason: "closed by the server: \(code.map(String.init) ?? "-") \(reason.prefix(40))")
                    connection.write(WebSocketFrameEncoder.closeFrame(code: code ?? WebSocketCloseCode.normal,
                                                                      maskKey: PingBatch.maskKey))
                }
                connection.close()
                break frames
            case .binary:
                scenario.run.errors.add("unexpected binary message")
            case .pong:
                break
            }
        }
        if runCount > 0 { scenario.record(latencyNs: runNs, count: runCount) }
        scenario.received(pongs: pongs)
        if replies > 0 && state == .open && scenario.sending { resend(from: firstSlot, count: replies, now: now, connection) }
    }

    /// One ping again for each of `count` replies, starting at slot `first`: consecutive slots are
    /// consecutive frames in the batch, so this is one write (two when it wraps).
    private func resend(from first: Int, count: Int, now: UInt64, _ connection: TCPConnection) {
        guard let sentAt else { return }
        var slot = first
        var remaining = count
        while remaining > 0 {
            let n = min(remaining, batch.depth - slot)
            (sentAt + slot).update(repeating: now, count: n)
            connection.write(batch.frames(slot, slot + n))
            slot = slot + n == batch.depth ? 0 : slot + n
            remaining -= n
        }
    }

    /// `{"type":"pong"` at the start is enough once this connection's first replies were checked in full.
    @inline(__always)
    private func isPong(_ payload: UnsafeRawBufferPointer, slot: Int) -> Bool {
        if fullChecksLeft == 0, payload.count >= 14 {
            let prefix = PingPongConnection.pongPrefix
            if memcmp(payload.baseAddress!, prefix.utf8Start, 14) == 0 { return true }
        }
        return checkFully(payload, slot: slot)
    }

    private static let pongPrefix: StaticString = "{\"type\":\"pong\""

    private func checkFully(_ payload: UnsafeRawBufferPointer, slot: Int) -> Bool {
        if fullChecksLeft > 0 { fullChecksLeft -= 1 }
        guard let message = try? JSON.parse(payload) else {
            scenario.run.errors.add("reply is not JSON")
            return false
        }
        switch message["type"]?.string {
        case "pong":
            guard message["id"]?.string == String(slot) else {
                scenario.run.errors.add("pong id does not match the ping in that position")
                return false
            }
            return true
        case "error":
            scenario.run.errors.add("error reply: \(message["code"]?.string ?? "?")")
        default:
            scenario.run.errors.add("unexpected reply type: \(message["type"]?.string?.prefix(30) ?? "none")")
        }
        return false
    }
}

@available(*, unavailable)
extension PingPongConnection: Sendable {}
