import EventLoop
import Foundation
import Glibc
import TestSupport
import WebSocket
import XCTest

/// The `EchoServer` example (the Autobahn|TestSuite target) as a real process, driven by
/// `WebSocketClient` over loopback: what the suite checks most, in a few seconds.
final class EchoServerTests: XCTestCase {
    private var process: Process?
    private var loop: EventLoop!
    private var client: WebSocketClient!
    private var received: EchoRecorder!
    private var address: SocketAddress!

    /// The executable built beside the test bundle.
    static var executable: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for dir in [bundle, bundle.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("EchoServer").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return bundle.appendingPathComponent("EchoServer").path
    }

    override func setUpWithError() throws {
        signal(SIGPIPE, SIG_IGN)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["0"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        self.process = process
        // The first line names the bound port: "EchoServer listening on ws://127.0.0.1:PORT/".
        var line = Data()
        while !line.contains(10) {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        let port = try XCTUnwrap(text.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) }, text)

        loop = try EventLoop()
        received = EchoRecorder()
        address = try SocketAddress(host: "127.0.0.1", port: port)
        var result: Result<WebSocketClient, WebSocketClientError>?
        WebSocketClient.connect(loop: loop, address: address,
                                host: "127.0.0.1", path: "/") { [received] in
            if case .success(let client) = $0 { client.delegate = received }
            result = $0
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { result != nil })
        client = try XCTUnwrap(result).get()
    }

    override func tearDown() {
        client?.disconnect()
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        client = nil
        loop = nil
    }

    private func waitForMessages(_ count: Int) -> [EchoRecorder.Message] {
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { self.received.messages.count >= count })
        return received.messages
    }

    func testTextAsTextAndBinaryAsBinary() throws {
        client.sendText("hello κόσμε 🎉")
        client.sendBinary([0, 1, 2, 0xFF, 0xC0])
        client.sendBinary([])
        XCTAssertEqual(waitForMessages(3), [.text("hello κόσμε 🎉"), .binary([0, 1, 2, 0xFF, 0xC0]), .binary([])])
    }

    func testFragmentedMessagesWithAPingBetweenTheFragments() throws {
        client.sendRaw(rawFrame(0x1, Array("Hel".utf8), fin: false))
        client.sendRaw(rawFrame(0x9, [7, 7]))
        client.sendRaw(rawFrame(0x0, Array("lo w".utf8), fin: false))
        client.sendRaw(rawFrame(0x0, Array("örld".utf8)))
        client.sendRaw(rawFrame(0x2, [1, 2], fin: false))
        client.sendRaw(rawFrame(0x0, [3]))
        XCTAssertEqual(waitForMessages(2), [.text("Hello wörld"), .binary([1, 2, 3])])
        XCTAssertEqual(received.pongs, 1)
    }

    func testOneMebibyteBinaryMessage() throws {
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        var state: UInt32 = 0x9E37_79B9
        for i in bytes.indices {
            state = state &* 1_664_525 &+ 1_013_904_223
            bytes[i] = UInt8(truncatingIfNeeded: state >> 24)
        }
        client.sendBinary(bytes)
        let messages = waitForMessages(1)
        XCTAssertEqual(messages.first, .binary(bytes))
    }

    func testMessagesOverSixteenMebibytesCloseWith1009() throws {
        // Only the header: the limit is checked before any payload is buffered.
        client.sendRaw(rawFrame(0x2, [], declaredLength: UInt64(16 << 20) + 1))
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { self.received.close != nil })
        XCTAssertEqual(received.close?.code, WebSocketCloseCode.messageTooBig)
    }

    func testCloseCodeIsEchoed() throws {
        client.close(code: 4321, reason: "bye")
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { self.received.close != nil })
        XCTAssertEqual(received.close?.code, 4321)
    }

    func testBadUpgradeIsRefused() throws {
        // A second, plain connection that is no WebSocket upgrade gets an HTTP error and a close.
        var raw: TCPConnection?
        let reader = RawReader()
        TCPConnection.connect(loop: loop, to: address) { result in
            raw = try? result.get()
            raw?.delegate = reader
            raw?.startReading()
            raw?.write(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { reader.closed })
        XCTAssertTrue(String(decoding: reader.bytes, as: UTF8.self).hasPrefix("HTTP/1.1 4"))
    }
}

/// Records whole messages as they arrive.
final class EchoRecorder: WebSocketClientDelegate {
    enum Message: Equatable {
        case text(String)
        case binary([UInt8])
    }

    var messages: [Message] = []
    var pongs = 0
    var close: (code: UInt16, reason: String)?

    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {
        messages.append(.text(String(decoding: bytes, as: UTF8.self)))
    }

    func didReceiveBinary(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) { messages.append(.binary(Array(bytes))) }
    func didReceivePong(_ client: WebSocketClient) { pongs += 1 }
    func didClose(_ client: WebSocketClient, code: UInt16, reason: String) { close = (code, reason) }
}

private final class RawReader: TCPConnectionDelegate {
    var bytes: [UInt8] = []
    var closed = false
    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) { self.bytes += bytes }
    func connectionDidClose(_ connection: TCPConnection, error: UVError?) { closed = true }
}
