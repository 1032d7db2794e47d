import EventLoop
import Glibc
import TestSupport
import XCTest
@testable import WebSocket

/// A real server (TCPServer + WebSocketHandshake + WebSocketConnection) and WebSocketClient over
/// loopback sockets. Waits are bounded by `runLoop`'s guard timeout, never asserted on.
final class EndToEndTests: XCTestCase {
    private var loop: EventLoop!
    private var server: TestEchoServer!

    override func setUpWithError() throws {
        // A write to a socket the peer has closed must fail with EPIPE, not kill the test process.
        signal(SIGPIPE, SIG_IGN)
        loop = try EventLoop()
        server = try TestEchoServer(loop: loop)
    }

    override func tearDown() {
        server.stop()
        runLoop(loop, timeoutMs: 2000) { self.server.closes.count == self.server.connections.count }
        server = nil
        loop = nil
    }

    private func connect(path: String = "/ws") throws -> (WebSocketClient, TestClientDelegate) {
        var result: Result<WebSocketClient, WebSocketClientError>?
        let delegate = TestClientDelegate()
        WebSocketClient.connect(loop: loop, address: server.address, host: "127.0.0.1", path: path) { r in
            if case .success(let client) = r { client.delegate = delegate }
            result = r
        }
        XCTAssertTrue(runLoop(loop) { result != nil })
        let client = try XCTUnwrap(result).get()
        XCTAssertTrue(runLoop(loop) { self.server.connections.count == 1 })
        return (client, delegate)
    }

    func testTextEcho() throws {
        let (client, delegate) = try connect()
        client.sendText("hello")
        client.sendText("κόσμε 🎉")
        XCTAssertTrue(runLoop(loop) { delegate.texts.count == 2 })
        XCTAssertEqual(delegate.texts, ["hello", "κόσμε 🎉"])

        // A message larger than one read, echoed whole.
        let big = String(repeating: "0123456789abcdef", count: 4000) // 64,000 bytes
        var echoed: [String] = []
        client.delegate = nil
        let bigDelegate = BigTextDelegate { echoed.append($0) }
        client.delegate = bigDelegate
        client.sendText(big)
        XCTAssertTrue(runLoop(loop) { echoed.count == 1 })
        XCTAssertEqual(echoed.first, big)
        XCTAssertEqual(server.connections[0].parser.bufferedCapacity, 0, "no buffer kept once the message is delivered")
    }

    func testClientPingGetsPong() throws {
        let (client, delegate) = try connect()
        client.sendPing([1, 2, 3])
        XCTAssertTrue(runLoop(loop) { delegate.pongs == 1 })
    }

    func testServerPingIsAnsweredAndResetsTheCount() throws {
        let (_, _) = try connect()
        let connection = server.connections[0]
        connection.sendPing()
        XCTAssertEqual(connection.unansweredPings, 1)
        XCTAssertTrue(runLoop(loop) { connection.unansweredPings == 0 })
        XCTAssertGreaterThan(connection.lastReceivedMs, 0)
    }

    func testClientInitiatedClose() throws {
        let (client, delegate) = try connect()
        client.close(code: 4000, reason: "bye")
        XCTAssertTrue(runLoop(loop) { delegate.close != nil && self.server.closes.count == 1 })
        XCTAssertEqual(server.closes.first?.code, 4000)
        XCTAssertEqual(server.closes.first?.reason, "bye")
        XCTAssertEqual(delegate.close?.code, 4000)
        XCTAssertEqual(delegate.close?.reason, "bye")
        XCTAssertEqual(server.settings.pendingCloseReasons, 0, "a reason is kept only until didClose")
    }

    func testServerInitiatedClose() throws {
        let (client, delegate) = try connect()
        client.sendText("close-me")
        XCTAssertTrue(runLoop(loop) { delegate.close != nil && self.server.closes.count == 1 })
        XCTAssertEqual(server.closes.first?.code, 4001)
        XCTAssertEqual(server.closes.first?.reason, "done")
        XCTAssertEqual(delegate.close?.code, 4001)
        XCTAssertEqual(delegate.close?.reason, "done")
        XCTAssertEqual(server.settings.pendingCloseReasons, 0, "a reason is kept only until didClose")
    }

    private func assertFailure(_ send: (WebSocketClient) -> Void, code: UInt16, reason: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let (client, delegate) = try connect()
        send(client)
        XCTAssertTrue(runLoop(loop) { delegate.close != nil && self.server.closes.count == 1 }, file: file, line: line)
        XCTAssertEqual(server.closes.first?.code, code, file: file, line: line)
        XCTAssertEqual(server.closes.first?.reason, reason, file: file, line: line)
        XCTAssertEqual(delegate.close?.code, code, "the client got the close frame", file: file, line: line)
        XCTAssertEqual(delegate.close?.reason, reason, file: file, line: line)
        XCTAssertTrue(server.texts.isEmpty, file: file, line: line)
    }

    func testMalformedFrameCloses1002() throws {
        try assertFailure({ $0.sendRaw(rawFrame(0x1, Array("x".utf8), mask: nil)) }, code: 1002, reason: "client frame not masked")
    }

    func testReservedOpcodeCloses1002() throws {
        try assertFailure({ $0.sendRaw(rawFrame(0x3, [])) }, code: 1002, reason: "unknown opcode")
    }

    func testInvalidUTF8Closes1007() throws {
        try assertFailure({ $0.sendRaw(rawFrame(0x1, [0x61, 0xC0, 0x80])) }, code: 1007, reason: "invalid UTF-8")
    }

    func testOversizeCloses1009() throws {
        try assertFailure({ $0.sendText([UInt8](repeating: 0x61, count: 64 * 1024 + 1)) }, code: 1009, reason: "message too big")
    }

    func testOversizeAcrossFragmentsCloses1009() throws {
        try assertFailure({ client in
            client.sendRaw(rawFrame(0x1, [UInt8](repeating: 0x61, count: 40_000), fin: false))
            client.sendRaw(rawFrame(0x0, [UInt8](repeating: 0x61, count: 30_000)))
        }, code: 1009, reason: "message too big")
    }

    func testBinaryIsRefusedWith1003ByDefault() throws {
        try assertFailure({ $0.sendRaw(rawFrame(0x2, [1, 2])) }, code: 1003, reason: "binary messages not supported")
    }

    func testSlowConsumerIsDroppedWith1013() throws {
        let (client, delegate) = try connect()
        client.pauseReading()
        let connection = server.connections[0]
        let frame = WebSocketFrameEncoder.textFrame([UInt8](repeating: 0x61, count: 64 * 1024))
        var sent = 0
        // Bounded: loopback buffers hold a few MiB, the queue limit 1 MiB more.
        while connection.isOpen && sent < 4000 {
            connection.send(frame: frame)
            sent += 1
        }
        XCTAssertFalse(connection.isOpen)
        XCTAssertTrue(runLoop(loop) { self.server.closes.count == 1 })
        XCTAssertEqual(server.closes.first?.code, 1013)
        XCTAssertEqual(server.closes.first?.reason, "slow consumer")
        client.resumeReading()
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { delegate.close != nil })
        XCTAssertEqual(delegate.close?.code, 1006, "the queue (and any close frame behind it) was dropped")
        XCTAssertLessThan(delegate.textCount, sent)
    }

    func testCloseDeadlineIsEnforcedBySweep() throws {
        let raw = try rawConnect()
        XCTAssertTrue(runLoop(loop) { self.server.connections.count == 1 && raw.received.count > 0 })
        let connection = server.connections[0]
        // The ping time and the close deadline share a field: the deadline must not start from the ping.
        connection.sendPing()
        let pingMs = connection.lastPingMs
        XCTAssertGreaterThan(pingMs, 0)
        XCTAssertEqual(connection.closeDeadlineMs, 0, "no deadline while open")
        connection.close(code: 1001, reason: "shutdown")
        XCTAssertGreaterThanOrEqual(connection.closeDeadlineMs, pingMs + UInt64(server.settings.closeTimeoutMs))
        XCTAssertEqual(connection.lastPingMs, 0, "no ping time once closing")
        // The raw peer never answers the close frame.
        XCTAssertFalse(connection.abortIfCloseDeadlinePassed(nowMs: connection.closeDeadlineMs - 1))
        XCTAssertTrue(connection.abortIfCloseDeadlinePassed(nowMs: connection.closeDeadlineMs))
        XCTAssertTrue(runLoop(loop) { self.server.closes.count == 1 && raw.closed })
        XCTAssertEqual(server.closes.first?.code, 1001)
        XCTAssertEqual(server.closes.first?.reason, "shutdown")
        XCTAssertEqual(server.settings.pendingCloseReasons, 0, "a reason is kept only until didClose")
    }

    func testBytesAfterTheRequestInTheSameReadAreParsed() throws {
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        let request = WebSocketHandshake.clientRequest(host: "x", path: "/ws", key: key)
        let raw = try rawConnect(first: request + rawFrame(0x1, Array("early".utf8)))
        XCTAssertTrue(runLoop(loop) { self.server.texts == ["early"] })
        var response = WebSocketHandshakeResponseParser(key: key)
        var frames = WebSocketFrameParser(role: .client)
        var echoed: [RecordedEvent] = []
        XCTAssertTrue(runLoop(loop) {
            echoed = []
            response = WebSocketHandshakeResponseParser(key: key)
            frames = WebSocketFrameParser(role: .client)
            return raw.received.withUnsafeBytes { bytes in
                var input = bytes
                guard (try? response.parse(&input)) == true else { return false }
                while let event = try? frames.next(&input, scratch: nil) { echoed.append(RecordedEvent(event)) }
                return !echoed.isEmpty
            }
        })
        XCTAssertEqual(echoed, [.text("early")])
    }

    func testRejectedUpgradeOverTheWire() throws {
        let request = Array(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n").utf8)
        let raw = try rawConnect(first: request)
        XCTAssertTrue(runLoop(loop) { raw.closed })
        let text = String(decoding: raw.received, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"), text)
        XCTAssertTrue(text.contains("Sec-WebSocket-Version: 13\r\n"))
    }

    func testClientReportsHandshakeAndConnectFailures() throws {
        var result: Result<WebSocketClient, WebSocketClientError>?
        WebSocketClient.connect(loop: loop, address: server.address, host: "x", path: "/reject") { result = $0 }
        XCTAssertTrue(runLoop(loop) { result != nil })
        guard case .failure(.handshakeFailed(let why)) = result else { return XCTFail("\(String(describing: result))") }
        XCTAssertEqual(why, "status 400")

        result = nil
        let nobody = try SocketAddress(host: "127.0.0.1", port: freeTCPPort())
        WebSocketClient.connect(loop: loop, address: nobody, host: "x", path: "/ws") { result = $0 }
        XCTAssertTrue(runLoop(loop) { result != nil })
        guard case .failure(.connectFailed(let error)) = result else { return XCTFail("\(String(describing: result))") }
        XCTAssertEqual(error, UVError.connectionRefused)
    }

    /// Every idle hub client holds one of these, so its heap block is part of the memory budget per
    /// connection (docs/SCALING.md "Per connection"): 120 bytes is glibc's 128-byte chunk. A field
    /// that pushes it into the next chunk should be a deliberate choice, with the docs updated.
    func testConnectionInstanceIsSmall() throws {
        let (_, _) = try connect()
        let connection = server.connections[0]
        let size = mallocUsableSize(Unmanaged.passUnretained(connection).toOpaque())
        print("WebSocketConnection heap block: \(size) bytes; parser inline: \(MemoryLayout<WebSocketFrameParser>.size) bytes")
        XCTAssertEqual(swiftInstanceSize(InstanceSizeProbe.self), 32, "the metadata is read where it is")
        XCTAssertLessThanOrEqual(swiftInstanceSize(WebSocketConnection.self), 120)
        XCTAssertGreaterThanOrEqual(size, swiftInstanceSize(WebSocketConnection.self))
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketFrameParser>.size, 52)
        XCTAssertEqual(connection.parser.bufferedCapacity, 0)
    }

    // MARK: helpers

    private func rawConnect(first: [UInt8]? = nil) throws -> RawClient {
        let raw = RawClient()
        let request = first ?? WebSocketHandshake.clientRequest(host: "x", path: "/ws", key: "dGhlIHNhbXBsZSBub25jZQ==")
        TCPConnection.connect(loop: loop, to: server.address) { result in
            guard case .success(let tcp) = result else { return }
            raw.tcp = tcp
            tcp.delegate = raw
            tcp.write(request)
            tcp.startReading()
        }
        XCTAssertTrue(runLoop(loop) { raw.tcp != nil })
        return raw
    }
}

/// glibc's, not exported by the Glibc module; measures the heap block behind an object.
@_silgen_name("malloc_usable_size")
private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer) -> Int

private final class BigTextDelegate: WebSocketClientDelegate {
    let onText: (String) -> Void
    init(_ onText: @escaping (String) -> Void) { self.onText = onText }
    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) { onText(String(decoding: bytes, as: UTF8.self)) }
    func didClose(_ client: WebSocketClient, code: UInt16, reason: String) {}
}
