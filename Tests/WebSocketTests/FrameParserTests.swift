import XCTest
@testable import WebSocket

final class FrameParserTests: XCTestCase {
    private let text: UInt8 = 0x1, binary: UInt8 = 0x2, cont: UInt8 = 0x0
    private let close: UInt8 = 0x8, ping: UInt8 = 0x9, pong: UInt8 = 0xA

    /// Parses `stream` cut in every way and checks each gives `expected` (events, then error if any).
    private func assertEverySplit(_ stream: [UInt8], role: WebSocketFrameParser.Role = .server,
                                  maxMessageSize: Int = 64 * 1024,
                                  events expected: [RecordedEvent], error: WebSocketError? = nil,
                                  file: StaticString = #filePath, line: UInt = #line) {
        for scratch in [WebSocketServerSettings(), nil] {
            for split in everySplit(stream) {
                let outcome = parse(split, role: role, maxMessageSize: maxMessageSize, scratch: scratch)
                XCTAssertEqual(outcome.events, expected, "split \(split.map(\.count))", file: file, line: line)
                XCTAssertEqual(outcome.error, error, "split \(split.map(\.count))", file: file, line: line)
                if error == nil {
                    XCTAssertEqual(outcome.bufferedAfter, 0, "buffer kept after \(split.map(\.count))", file: file, line: line)
                }
                if outcome.events != expected || outcome.error != error { return }
            }
        }
    }

    // MARK: corpus

    func testSmallTextFrame() {
        assertEverySplit(rawFrame(text, Array("hello".utf8)), events: [.text("hello")])
    }

    func testEmptyFrames() {
        assertEverySplit(rawFrame(text, []) + rawFrame(binary, []) + rawFrame(ping, []) + rawFrame(pong, []) + rawFrame(close, []),
                         events: [.text(""), .binary([]), .ping([]), .pong, .close(nil, "")])
    }

    func testSixteenBitLength() {
        let payload = (0..<300).map { UInt8($0 % 251) }
        assertEverySplit(rawFrame(binary, payload), events: [.binary(payload)])
    }

    func testNonMinimalLengthsAreAccepted() {
        assertEverySplit(rawFrame(text, Array("ab".utf8), form: .sixtyFour) + rawFrame(text, Array("cd".utf8), form: .sixteen),
                         events: [.text("ab"), .text("cd")])
    }

    func testFragmentedWithInterleavedControlFrames() {
        // "héllo 🎉": the é and the emoji are cut between fragments.
        let bytes = Array("héllo 🎉".utf8)
        let stream = rawFrame(text, Array(bytes[0..<2]), fin: false)
            + rawFrame(ping, Array("p".utf8))
            + rawFrame(cont, Array(bytes[2..<8]), fin: false, mask: 0x0102_0304)
            + rawFrame(pong, [9])
            + rawFrame(cont, [], fin: false)
            + rawFrame(cont, Array(bytes[8...]), fin: true, mask: 0xFFFF_FFFF)
            + rawFrame(text, Array("next".utf8))
        assertEverySplit(stream, events: [.ping(Array("p".utf8)), .pong, .text("héllo 🎉"), .text("next")])
    }

    func testCloseWithReasonAndTrailingBytesIgnored() {
        let stream = rawFrame(text, Array("a".utf8)) + rawFrame(close, closePayload(1000, "bye ✓"))
            + rawFrame(text, Array("after".utf8)) + [0xFF, 0xFF]
        assertEverySplit(stream, events: [.text("a"), .close(1000, "bye ✓")])
    }

    func testMixedStream() {
        let stream = rawFrame(text, Array("one".utf8)) + rawFrame(binary, [1, 2, 3])
            + rawFrame(binary, [4], fin: false) + rawFrame(ping, [7, 7]) + rawFrame(cont, [5], fin: false)
            + rawFrame(cont, [6]) + rawFrame(close, closePayload(4001))
        assertEverySplit(stream, events: [.text("one"), .binary([1, 2, 3]), .ping([7, 7]), .binary([4, 5, 6]), .close(4001, "")])
    }

    func testClientRoleUnmaskedCorpus() {
        let stream = rawFrame(text, Array("hi".utf8), mask: nil) + rawFrame(text, Array("fr".utf8), fin: false, mask: nil)
            + rawFrame(ping, [1], mask: nil) + rawFrame(cont, Array("ag".utf8), mask: nil)
            + rawFrame(binary, (0..<200).map { UInt8($0) }, mask: nil) + rawFrame(close, closePayload(1001, "going"), mask: nil)
        assertEverySplit(stream, role: .client,
                         events: [.text("hi"), .ping([1]), .text("frag"), .binary((0..<200).map { UInt8($0) }), .close(1001, "going")])
    }

    func testSixtyFourBitLengthLargeFrame() {
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for role in [WebSocketFrameParser.Role.server, .client] {
            let stream = rawFrame(binary, payload, mask: role == .server ? 0xA1B2_C3D4 : nil) + rawFrame(ping, [], mask: role == .server ? 1 : nil)
            for split in sampledSplits(stream) {
                let outcome = parse(split, role: role, maxMessageSize: 1 << 20)
                XCTAssertEqual(outcome.events, [.binary(payload), .ping([])], "split \(split.map(\.count))")
                XCTAssertNil(outcome.error)
                XCTAssertEqual(outcome.bufferedAfter, 0)
            }
            let dribble = parse(stream.indices.map { stream[$0...$0] }, role: role, maxMessageSize: 1 << 20)
            XCTAssertEqual(dribble.events, [.binary(payload), .ping([])])
        }
    }

    func testExactlyTheLimitIsAccepted() {
        let payload = [UInt8](repeating: 0x61, count: 64 * 1024)
        let outcome = parse([rawFrame(text, payload)[...]])
        XCTAssertEqual(outcome.events, [.text(String(decoding: payload, as: UTF8.self))])
        let fragmented = rawFrame(text, Array(payload[..<40_000]), fin: false) + rawFrame(cont, Array(payload[40_000...]))
        XCTAssertEqual(parse(sampledSplits(fragmented)[20]).events.count, 1)
    }

    // MARK: malformed input, each to its close code

    private func assertFails(_ stream: [UInt8], _ error: WebSocketError, code: UInt16, role: WebSocketFrameParser.Role = .server,
                             events: [RecordedEvent] = [], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error.closeCode, code, file: file, line: line)
        assertEverySplit(stream, role: role, events: events, error: error, file: file, line: line)
    }

    func testReservedBits() {
        for rsv: UInt8 in [1, 2, 4] {
            assertFails(rawFrame(text, Array("x".utf8), rsv: rsv), .reservedBitsSet, code: 1002)
        }
    }

    func testUnknownOpcodes() {
        for op: UInt8 in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assertFails(rawFrame(op, []), .unknownOpcode(op), code: 1002)
        }
    }

    func testControlFrameRules() {
        assertFails(rawFrame(ping, [], fin: false), .fragmentedControlFrame, code: 1002)
        assertFails(rawFrame(pong, [UInt8](repeating: 0, count: 126)), .controlFrameTooLong, code: 1002)
        assertFails(rawFrame(close, [3]), .invalidClosePayload, code: 1002)
        // 125 is the largest control payload.
        assertEverySplit(rawFrame(ping, [UInt8](repeating: 7, count: 125)), events: [.ping([UInt8](repeating: 7, count: 125))])
    }

    func testCloseCodes() {
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] {
            assertFails(rawFrame(close, closePayload(code)), .invalidCloseCode(code), code: 1002)
        }
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999] {
            assertEverySplit(rawFrame(close, closePayload(code, "r")), events: [.close(code, "r")])
        }
        assertFails(rawFrame(close, closePayload(1000) + [0xC0, 0x80]), .invalidUTF8, code: 1007)
    }

    func testContinuationRules() {
        assertFails(rawFrame(cont, Array("x".utf8)), .unexpectedContinuation, code: 1002)
        assertFails(rawFrame(text, Array("a".utf8), fin: false) + rawFrame(text, Array("b".utf8)), .expectedContinuation, code: 1002)
        assertFails(rawFrame(binary, [1], fin: false) + rawFrame(ping, []) + rawFrame(binary, [2]), .expectedContinuation,
                    code: 1002, events: [.ping([])])
        // A complete message closes the way for a new one, and a continuation after it is unexpected.
        assertFails(rawFrame(text, Array("a".utf8)) + rawFrame(cont, Array("b".utf8)), .unexpectedContinuation,
                    code: 1002, events: [.text("a")])
    }

    func testMaskingRules() {
        assertFails(rawFrame(text, Array("x".utf8), mask: nil), .unmaskedClientFrame, code: 1002)
        assertFails(rawFrame(text, Array("x".utf8)), .maskedServerFrame, code: 1002, role: .client)
    }

    func testSixtyFourBitLengthWithTopBitSet() {
        assertFails(rawFrame(binary, [], declaredLength: 1 << 63), .invalidPayloadLength, code: 1002)
        assertFails(rawFrame(binary, [], declaredLength: UInt64.max), .invalidPayloadLength, code: 1002)
    }

    func testInvalidUTF8() {
        assertFails(rawFrame(text, [0x61, 0xC0, 0x80]), .invalidUTF8, code: 1007)
        assertFails(rawFrame(text, [0xED, 0xA0, 0x80]), .invalidUTF8, code: 1007)
        // Truncated at the end of the message.
        assertFails(rawFrame(text, [0x61, 0xE2, 0x82]), .invalidUTF8, code: 1007)
        assertFails(rawFrame(text, [0x61, 0xE2], fin: false) + rawFrame(cont, [0x82]), .invalidUTF8, code: 1007)
        // Invalid across a fragment boundary.
        assertFails(rawFrame(text, [0x61, 0xE2, 0x82], fin: false) + rawFrame(cont, [0x28]), .invalidUTF8, code: 1007)
        // Binary is not checked.
        assertEverySplit(rawFrame(binary, [0xC0, 0x80]), events: [.binary([0xC0, 0x80])])
    }

    func testInvalidUTF8FailsFastWithinAFragmentedMessage() {
        // Only the first fragment arrives; it is already invalid.
        let outcome = parse([rawFrame(text, [0x41, 0xFF, 0x41], fin: false)[...]])
        XCTAssertEqual(outcome.error, .invalidUTF8)
    }

    func testMessageTooBigIsRefusedFromTheHeader() {
        let limit = 1000
        // Single frame, only its header sent: refused before any payload byte arrives.
        let header = Array(rawFrame(binary, [UInt8](repeating: 0, count: limit + 1)).prefix(8))
        XCTAssertEqual(parse([header[...]], maxMessageSize: limit).error, .messageTooBig)
        assertFails(rawFrame(text, [UInt8](repeating: 0x61, count: 64 * 1024 + 1)).prefix(14).map { $0 }, .messageTooBig, code: 1009)
        // Across fragments: 600 + 401 > 1000, refused at the second fragment's header.
        let fragments = rawFrame(text, [UInt8](repeating: 0x61, count: 600), fin: false)
            + rawFrame(ping, []) + rawFrame(cont, [UInt8](repeating: 0x61, count: 401))
        for split in sampledSplits(fragments, head: fragments.count, step: 1) {
            let outcome = parse(split, maxMessageSize: limit)
            XCTAssertEqual(outcome.error, .messageTooBig)
            XCTAssertEqual(outcome.events, [.ping([])])
        }
        // A huge declared length does not overflow the check.
        XCTAssertEqual(parse([rawFrame(binary, [], declaredLength: UInt64(Int64.max)).prefix(14)], maxMessageSize: limit).error, .messageTooBig)
    }

    func testFailedParserStaysFailed() throws {
        var parser = WebSocketFrameParser(role: .server)
        let bad = rawFrame(9, [], fin: false) + rawFrame(text, Array("x".utf8))
        try bad.withUnsafeBytes { bytes in
            var input = bytes
            XCTAssertThrowsError(try parser.next(&input, scratch: nil))
            var again = bytes
            XCTAssertNil(try parser.next(&again, scratch: nil))
        }
    }

    // MARK: memory

    func testWholeFramesUseTheSharedScratchNotAConnectionBuffer() throws {
        var parser = WebSocketFrameParser(role: .server)
        let scratch = WebSocketServerSettings()
        let stream = rawFrame(text, Array("hello".utf8)) + rawFrame(ping, [1])
        try stream.withUnsafeBytes { bytes in
            var input = bytes
            let first = try XCTUnwrap(parser.next(&input, scratch: scratch))
            XCTAssertEqual(RecordedEvent(first), .text("hello"))
            XCTAssertEqual(parser.bufferedCapacity, 0)
            XCTAssertGreaterThan(scratch.capacityBytes, 0)
            XCTAssertEqual(RecordedEvent(try XCTUnwrap(parser.next(&input, scratch: scratch))), .ping([1]))
            XCTAssertNil(try parser.next(&input, scratch: scratch))
        }
        XCTAssertEqual(parser.bufferedCapacity, 0)
    }

    func testSplitFrameIsBufferedExactlyThenReleased() throws {
        var parser = WebSocketFrameParser(role: .server)
        let payload = [UInt8](repeating: 0x62, count: 5000)
        let stream = rawFrame(binary, payload)
        try stream[..<100].withUnsafeBytes { bytes in
            var input = bytes
            XCTAssertNil(try parser.next(&input, scratch: nil))
        }
        XCTAssertEqual(parser.bufferedCapacity, 5000, "sized from the header")
        try stream[100...].withUnsafeBytes { bytes in
            var input = bytes
            let event = try XCTUnwrap(parser.next(&input, scratch: nil))
            XCTAssertEqual(RecordedEvent(event), .binary(payload))
            XCTAssertNil(try parser.next(&input, scratch: nil))
        }
        XCTAssertEqual(parser.bufferedCapacity, 0)
    }

    func testControlFrameSplitInsideFragmentedMessageKeepsTheMessage() {
        let stream = rawFrame(text, Array("abc".utf8), fin: false) + rawFrame(ping, Array("0123456789".utf8))
            + rawFrame(cont, Array("def".utf8))
        // Cut inside the ping's payload.
        let cut = 9 + 6 + 5
        let outcome = parse([stream[..<cut], stream[cut...]])
        XCTAssertEqual(outcome.events, [.ping(Array("0123456789".utf8)), .text("abcdef")])
        XCTAssertEqual(outcome.bufferedAfter, 0)
    }

    func testIdleParserIsSmall() {
        // Kept inline in each connection; reported in the module's notes.
        XCTAssertLessThanOrEqual(MemoryLayout<WebSocketFrameParser>.size, 96)
    }
}
