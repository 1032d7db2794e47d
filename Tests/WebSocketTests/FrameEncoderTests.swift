import EventLoop
import XCTest
@testable import WebSocket

/// Copies a buffer's bytes while keeping it alive (`bytes` alone does not).
func contents(_ buffer: ByteBuffer) -> [UInt8] {
    withExtendedLifetime(buffer) { Array(buffer.bytes) }
}

final class FrameEncoderTests: XCTestCase {
    func testRFCExamples() {
        let hello = Array("Hello".utf8)
        let unmasked = hello.withUnsafeBytes { WebSocketFrameEncoder.frame(opcode: .text, payload: $0) }
        XCTAssertEqual(contents(unmasked), [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        let masked = hello.withUnsafeBytes { WebSocketFrameEncoder.frame(opcode: .text, payload: $0, maskKey: 0x37FA_213D) }
        XCTAssertEqual(contents(masked), [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        XCTAssertEqual(contents(WebSocketFrameEncoder.textFrame(hello)), contents(unmasked))
        XCTAssertEqual(contents(WebSocketFrameEncoder.pingFrame(payload: hello)), [0x89, 0x05] + hello)
        XCTAssertEqual(contents(WebSocketFrameEncoder.pongFrame()), [0x8A, 0x00])
    }

    func testLengthsRoundTrip() {
        for count in [0, 1, 125, 126, 127, 65535, 65536, 70_000] {
            let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            let expectedHeader = count < 126 ? 2 : (count <= 65535 ? 4 : 10)
            let plain = payload.withUnsafeBytes { WebSocketFrameEncoder.frame(opcode: .binary, payload: $0) }
            XCTAssertEqual(plain.count, expectedHeader + count)
            XCTAssertEqual(parse([contents(plain)[...]], role: .client, maxMessageSize: 1 << 20).events, [.binary(payload)])

            let masked = payload.withUnsafeBytes { WebSocketFrameEncoder.frame(opcode: .binary, payload: $0, maskKey: 0xDEAD_BEEF) }
            XCTAssertEqual(masked.count, expectedHeader + 4 + count)
            XCTAssertEqual(parse([contents(masked)[...]], role: .server, maxMessageSize: 1 << 20).events, [.binary(payload)])
            // Also when it arrives in two reads, through the per-connection buffer.
            let bytes = contents(masked)
            let half = bytes.count / 2
            XCTAssertEqual(parse([bytes[..<half], bytes[half...]], role: .server, maxMessageSize: 1 << 20).events, [.binary(payload)])
        }
    }

    func testInPlaceEncoding() {
        let payload = Array("in place".utf8)
        let size = WebSocketFrameEncoder.frameSize(payloadCount: payload.count, masked: true)
        var out = [UInt8](repeating: 0, count: size + 3)
        let written = out.withUnsafeMutableBytes { dst in
            payload.withUnsafeBytes { WebSocketFrameEncoder.encode(opcode: .text, payload: $0, maskKey: 0x0102_0304, into: dst) }
        }
        XCTAssertEqual(written, size)
        XCTAssertEqual(parse([out[..<written]]).events, [.text("in place")])
    }

    func testCloseFrameCutsLongReasonAtACharacterBoundary() {
        let reason = String(repeating: "é", count: 100) // 200 bytes
        let frame = WebSocketFrameEncoder.closeFrame(code: 1008, reason: reason)
        let bytes = contents(frame)
        XCTAssertLessThanOrEqual(bytes.count, 2 + 125)
        let events = parse([bytes[...]], role: .client).events
        XCTAssertEqual(events, [.close(1008, String(repeating: "é", count: 61))])
        let masked = WebSocketFrameEncoder.closeFrame(code: 4000, reason: "bye", maskKey: 99)
        XCTAssertEqual(parse([contents(masked)[...]]).events, [.close(4000, "bye")])
    }

    func testMaskAnyPhaseAndLengthMatchesTheDefinition() {
        let key: UInt32 = 0x9A3C_5E71
        let keyBytes: [UInt8] = [0x9A, 0x3C, 0x5E, 0x71]
        for count in 0..<40 {
            for phase in 0..<4 {
                let source = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 13 + 5) }
                var out = [UInt8](repeating: 0, count: count)
                source.withUnsafeBytes { src in
                    out.withUnsafeMutableBytes { dst in
                        if count > 0 { WebSocketMask.apply(key: key, phase: phase, from: src.baseAddress!, to: dst.baseAddress!, count: count) }
                    }
                }
                let expected = source.enumerated().map { $0.element ^ keyBytes[($0.offset + phase) % 4] }
                XCTAssertEqual(out, expected, "count \(count) phase \(phase)")
            }
        }
    }
}
