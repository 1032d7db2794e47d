import EventLoop
import TestSupport
import XCTest

private final class Recorder: TCPConnectionDelegate {
    var received: [UInt8] = []
    var closed = false
    var closeError: UVError?
    var drained = 0
    var echo = false
    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        received.append(contentsOf: bytes)
        if echo { connection.write(bytes) }
    }
    func connectionDidClose(_ connection: TCPConnection, error: UVError?) { closed = true; closeError = error }
    func connectionDidDrain(_ connection: TCPConnection) { drained += 1 }
}

final class TCPTests: XCTestCase {
    func testEchoRoundTripAndOrderlyClose() throws {
        let loop = try EventLoop()
        let serverSide = Recorder()
        serverSide.echo = true
        let server = try TCPServer(loop: loop, address: SocketAddress(parsing: "127.0.0.1:0")) { conn in
            conn.delegate = serverSide
            conn.startReading()
        }
        defer { server.close() }
        XCTAssertNotEqual(server.address.port, 0)

        let clientSide = Recorder()
        var client: TCPConnection?
        TCPConnection.connect(loop: loop, to: try SocketAddress(host: "127.0.0.1", port: server.address.port)) { result in
            client = try? result.get()
            client?.delegate = clientSide
            client?.startReading()
        }
        XCTAssertTrue(runLoop(loop) { client != nil })
        let message = Array("hello, loop".utf8)
        client!.write(message)
        XCTAssertTrue(runLoop(loop) { clientSide.received.count == message.count })
        XCTAssertEqual(clientSide.received, message)

        client!.close()
        XCTAssertTrue(runLoop(loop) { clientSide.closed && serverSide.closed })
        XCTAssertNil(serverSide.closeError, "EOF is an orderly close")
    }

    func testLargeWriteIsQueuedAndDelivered() throws {
        let loop = try EventLoop()
        let (server, accepted, serverSide, client, clientSide) = try connectedPair(on: loop)
        defer { server.close() }
        // 16 MiB cannot fit in socket buffers while the peer is not reading, so most of it queues.
        let pattern = (0..<65_521).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // a prime length: no alignment hides a shift
        let big = ByteBuffer(count: 16 << 20) { buf in
            for start in stride(from: 0, to: buf.count, by: pattern.count) {
                let count = min(pattern.count, buf.count - start)
                pattern.withUnsafeBytes { (buf.baseAddress! + start).copyMemory(from: $0.baseAddress!, byteCount: count) }
            }
        }
        accepted.write(big)
        XCTAssertGreaterThan(accepted.queuedBytes, 0)
        client.startReading()
        XCTAssertTrue(runLoop(loop, timeoutMs: 20000) { clientSide.received.count == big.count })
        XCTAssertEqual(accepted.queuedBytes, 0)
        XCTAssertEqual(serverSide.drained, 1)
        XCTAssertTrue(clientSide.received.withUnsafeBytes { memcmp($0.baseAddress!, big.base, big.count) == 0 })
        client.close()
        accepted.close()
        XCTAssertTrue(runLoop(loop) { clientSide.closed && serverSide.closed })
    }

    /// Copied and shared writes queued behind a peer that does not read leave in order; `shutdown()`
    /// sends the FIN only after the last of them, and nothing written after it goes out.
    func testQueuedWritesKeepTheirOrderAndTheFINComesLast() throws {
        let loop = try EventLoop()
        let (server, accepted, serverSide, client, clientSide) = try connectedPair(on: loop)
        defer { server.close() }
        var expected: [UInt8] = []
        let shared = ByteBuffer(Array(repeating: 0x5A, count: 4096))
        for i in 0..<3000 {
            if i % 3 == 0 {
                accepted.write(shared)
                expected += Array(shared.bytes)
            } else {
                let chunk = (0..<(i % 700 + 1)).map { UInt8(truncatingIfNeeded: $0 &+ i) }
                accepted.write(chunk)
                expected += chunk
            }
        }
        XCTAssertGreaterThan(accepted.queuedBytes, 0, "the peer is not reading, so most of it queues")
        accepted.shutdown()
        accepted.write(Array("after the FIN".utf8))
        client.startReading()
        // The client sees EOF (the FIN) only after every byte, and then closes its side too.
        XCTAssertTrue(runLoop(loop, timeoutMs: 20000) { clientSide.closed && serverSide.closed })
        XCTAssertNil(clientSide.closeError, "an orderly FIN, not a reset")
        XCTAssertEqual(clientSide.received.count, expected.count)
        XCTAssertTrue(clientSide.received == expected, "bytes out of order")
        XCTAssertNil(serverSide.closeError)
    }

    /// A listener and a client connected to it on `loop`, neither side reading yet; each side's
    /// delegate records what it hears.
    private func connectedPair(on loop: EventLoop) throws
        -> (server: TCPServer, accepted: TCPConnection, serverSide: Recorder, client: TCPConnection, clientSide: Recorder) {
        var accepted: TCPConnection?
        let server = try TCPServer(loop: loop, address: SocketAddress(parsing: "127.0.0.1:0")) { accepted = $0 }
        let clientSide = Recorder()
        var client: TCPConnection?
        TCPConnection.connect(loop: loop, to: try SocketAddress(host: "127.0.0.1", port: server.address.port)) { result in
            client = try? result.get()
            client?.delegate = clientSide
        }
        XCTAssertTrue(runLoop(loop) { client != nil && accepted != nil })
        let serverSide = Recorder()
        accepted?.delegate = serverSide
        return (server, try XCTUnwrap(accepted), serverSide, try XCTUnwrap(client), clientSide)
    }

    func testConnectRefusedReportsError() throws {
        let loop = try EventLoop()
        var result: Result<TCPConnection, UVError>?
        TCPConnection.connect(loop: loop, to: try SocketAddress(host: "127.0.0.1", port: freeTCPPort())) { result = $0 }
        XCTAssertNil(result, "reported on a later turn of the loop, never from inside connect")
        XCTAssertTrue(runLoop(loop) { result != nil })
        if case .failure(let error) = result! {
            XCTAssertEqual(error, .connectionRefused)
        } else {
            XCTFail("expected a refused connection")
        }
    }

    func testTimerFiresAndRepeats() throws {
        let loop = try EventLoop()
        let timer = LoopTimer(loop: loop)
        var fired = 0
        timer.start(timeoutMs: 1, repeatMs: 1) { fired += 1 }
        XCTAssertTrue(runLoop(loop) { fired >= 3 })
        timer.close()
    }

    func testReusePortAllowsTwoListeners() throws {
        let loop = try EventLoop()
        let port = freeTCPPort()
        let a = try TCPServer(loop: loop, address: SocketAddress(host: "127.0.0.1", port: port), reusePort: true) { $0.close() }
        let b = try TCPServer(loop: loop, address: SocketAddress(host: "127.0.0.1", port: port), reusePort: true) { $0.close() }
        a.close(); b.close()
        XCTAssertThrowsError(try TCPServer(loop: loop, address: SocketAddress(parsing: "not-an-address")) { _ in })
    }

    func testSocketAddressParsing() throws {
        XCTAssertEqual(try SocketAddress(parsing: "localhost:8080").description, "127.0.0.1:8080")
        XCTAssertEqual(try SocketAddress(parsing: "[::1]:81").description, "[::1]:81")
        XCTAssertThrowsError(try SocketAddress(parsing: "127.0.0.1:99999"))
        XCTAssertThrowsError(try SocketAddress(parsing: "127.0.0.1"))
    }
}
