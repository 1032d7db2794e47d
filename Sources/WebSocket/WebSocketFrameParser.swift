/// An incremental RFC 6455 frame parser. Feed it whatever each read brought, split anywhere; it returns
/// one event at a time and keeps only what it must between reads:
///
/// - a partial header (at most 14 bytes) lives inline;
/// - a control frame, or a message that is a single frame, whose payload is wholly in the input is
///   delivered without a per-connection copy: a client's masked frame is unmasked into the scratch
///   buffer of the loop's shared `WebSocketServerSettings`, a server's unmasked frame is handed over in place;
/// - only a frame split across reads, or a fragmented message, is copied into a per-connection buffer,
///   sized from the frame header (after the size limit was checked) and released once delivered.
///
/// Every protocol violation throws a `WebSocketError` (mapped to a close code in one place) and leaves
/// the parser failed; after a close frame it ignores everything.
///
/// Use:
/// ```
/// var input = bytes
/// while let event = try parser.next(&input, scratch: scratch) { handle(event) }
/// ```
/// Keep calling until it returns nil: that call also frees a buffer the previous event was borrowing.
public struct WebSocketFrameParser {
    public enum Role: Sendable {
        /// Parses a client's frames: every frame must be masked.
        case server
        /// Parses a server's frames: no frame may be masked.
        case client
    }

    enum Phase: UInt8 { case header, payload, closed, failed }

    /// What the previous event borrowed that can be let go on the next call.
    enum Cleanup: UInt8 { case none, control, message }

    struct FrameHeader {
        var fin: Bool
        var opcode: UInt8
        var maskKey: UInt32?
        var length: Int
        var size: Int
    }

    enum HeaderResult {
        case needMore
        case complete(FrameHeader)
        case invalid(WebSocketError)
    }

    // Every idle server connection holds this struct, so the sizes are 32-bit where the bounds allow:
    // `limit` is at most UInt32.max (checked in init); a data frame's length is checked against what
    // is left of it before it is stored, a control frame's is at most 125, `frameReceived` never
    // passes `frameLength` and `messageSize` never passes `limit`. Widened to Int where used.
    var partial: PartialBuffer?
    /// Up to 14 header bytes that arrived without the rest of their header. (Two words: as a 14-byte
    /// tuple it cost the frame loop its inlining, ~40 instructions a message under callgrind.)
    var spill: (UInt64, UInt64) = (0, 0)
    // Frame in progress.
    var frameLength: UInt32 = 0
    var frameReceived: UInt32 = 0
    // Message in progress: bytes already in `partial`.
    var messageSize: UInt32 = 0
    var maskKey: UInt32 = 0
    let limit: UInt32
    public let role: Role
    var phase: Phase = .header
    var cleanup: Cleanup = .none
    var spillCount: UInt8 = 0
    var opcode: UInt8 = 0
    var fin = false
    /// Opcode (text or binary) of the message in progress, 0 when none is.
    var messageOpcode: UInt8 = 0
    var utf8 = UTF8Validator()

    /// The default limit is the hub's 64 KiB message limit of the wire contract.
    public init(role: Role, maxMessageSize: Int = 64 * 1024) {
        precondition(maxMessageSize >= 0 && maxMessageSize <= Int(UInt32.max), "maxMessageSize out of range")
        self.role = role
        limit = UInt32(maxMessageSize)
    }

    /// The largest message accepted, summed over its fragments.
    public var maxMessageSize: Int { Int(limit) }

    /// Whether the frame in progress is masked: `parseHeader` accepts only masked frames on the
    /// server and only unmasked ones on the client, so the role says it.
    var masked: Bool { role == .server }

    /// Bytes of per-connection buffer currently held; 0 whenever no frame or message is split across reads.
    public var bufferedCapacity: Int { partial?.capacity ?? 0 }

    /// Whether a close frame was parsed (everything after it is ignored).
    public var isClosed: Bool { phase == .closed }

    /// Consumes bytes from the front of `input` and returns the next event, or nil once `input` is used
    /// up (or the parser is closed). A whole masked frame is unmasked into `scratch`'s buffer; pass nil
    /// to always copy into the per-connection buffer (a client parser never needs it).
    public mutating func next(_ input: inout UnsafeRawBufferPointer,
                              scratch: WebSocketServerSettings?) throws(WebSocketError) -> WebSocketEvent? {
        switch cleanup {
        case .none: break
        case .control: if messageOpcode == 0 { partial = nil }
        case .message: partial = nil
        }
        cleanup = .none
        do {
            return try step(&input, scratch)
        } catch {
            phase = .failed
            partial = nil
            input = UnsafeRawBufferPointer(start: nil, count: 0)
            throw error
        }
    }

    private mutating func step(_ input: inout UnsafeRawBufferPointer,
                               _ scratch: WebSocketServerSettings?) throws(WebSocketError) -> WebSocketEvent? {
        while true {
            switch phase {
            case .closed, .failed:
                // §5.5.1: nothing after a close frame is processed.
                input = UnsafeRawBufferPointer(start: nil, count: 0)
                return nil
            case .header:
                guard try readHeader(&input) else { return nil }
                phase = .payload
            case .payload:
                if let event = try readPayload(&input, scratch) { return event }
                if phase == .payload { return nil }
            }
        }
    }

    // MARK: header

    /// Returns true once a whole header was read and accepted.
    private mutating func readHeader(_ input: inout UnsafeRawBufferPointer) throws(WebSocketError) -> Bool {
        let result: HeaderResult
        let used: Int
        if spillCount == 0 {
            result = parseHeader(input)
            if case .needMore = result {
                // Fewer bytes than the header needs (so at most 13): keep them inline.
                var local = spill
                withUnsafeMutableBytes(of: &local) { $0.copyMemory(from: input) }
                spill = local
                spillCount = UInt8(input.count)
                input = UnsafeRawBufferPointer(start: nil, count: 0)
                return false
            }
            used = 0
        } else {
            let old = Int(spillCount)
            let take = min(14 - old, input.count)
            var local = spill
            withUnsafeMutableBytes(of: &local) { buffer in
                if take > 0 { (buffer.baseAddress! + old).copyMemory(from: input.baseAddress!, byteCount: take) }
            }
            result = withUnsafeBytes(of: &local) { parseHeader(UnsafeRawBufferPointer(rebasing: $0[0..<(old + take)])) }
            if case .needMore = result {
                // 14 bytes always complete a header, so `take` was all of the input.
                spill = local
                spillCount = UInt8(old + take)
                input = UnsafeRawBufferPointer(start: nil, count: 0)
                return false
            }
            used = old
        }
        switch result {
        case .needMore:
            return false
        case .invalid(let error):
            throw error
        case .complete(let header):
            input = UnsafeRawBufferPointer(rebasing: input[(header.size - used)...])
            spillCount = 0
            begin(header)
            return true
        }
    }

    /// Validates and decodes a header from the start of `bytes`. Each rule is checked as soon as the
    /// bytes it needs are there, and the size limit before any payload is buffered.
    func parseHeader(_ bytes: UnsafeRawBufferPointer) -> HeaderResult {
        guard bytes.count >= 2 else { return .needMore }
        let b0 = bytes[0], b1 = bytes[1]
        if b0 & 0x70 != 0 { return .invalid(.reservedBitsSet) }
        let op = b0 & 0x0F
        guard let kind = WebSocketOpcode(rawValue: op) else { return .invalid(.unknownOpcode(op)) }
        let fin = b0 & 0x80 != 0
        let isMasked = b1 & 0x80 != 0
        let length7 = Int(b1 & 0x7F)
        if kind.isControl {
            if !fin { return .invalid(.fragmentedControlFrame) }
            if length7 > 125 { return .invalid(.controlFrameTooLong) }
            if kind == .close && length7 == 1 { return .invalid(.invalidClosePayload) }
        } else if kind == .continuation {
            if messageOpcode == 0 { return .invalid(.unexpectedContinuation) }
        } else if messageOpcode != 0 {
            return .invalid(.expectedContinuation)
        }
        switch role {
        case .server: if !isMasked { return .invalid(.unmaskedClientFrame) }
        case .client: if isMasked { return .invalid(.maskedServerFrame) }
        }
        let lengthBytes = length7 == 126 ? 2 : (length7 == 127 ? 8 : 0)
        let size = 2 + lengthBytes + (isMasked ? 4 : 0)
        guard bytes.count >= size else { return .needMore }
        var length = length7
        if lengthBytes > 0 {
            // Non-minimal encodings (a small length in the 16- or 64-bit form) are accepted, as most
            // peers do; only a 64-bit length with the top bit set is malformed.
            var value: UInt64 = 0
            for i in 2..<(2 + lengthBytes) { value = value << 8 | UInt64(bytes[i]) }
            if value >> 63 != 0 { return .invalid(.invalidPayloadLength) }
            // A data frame must fit what is left of the message limit; the test is done on the 64-bit
            // value so no length can overflow it.
            if !kind.isControl && value > UInt64(limit - messageSize) { return .invalid(.messageTooBig) }
            length = Int(value)
        } else if !kind.isControl && length > Int(limit - messageSize) {
            return .invalid(.messageTooBig)
        }
        var key: UInt32?
        if isMasked {
            key = UInt32(bytes[size - 4]) << 24 | UInt32(bytes[size - 3]) << 16
                | UInt32(bytes[size - 2]) << 8 | UInt32(bytes[size - 1])
        }
        return .complete(FrameHeader(fin: fin, opcode: op, maskKey: key, length: length, size: size))
    }

    private mutating func begin(_ header: FrameHeader) {
        opcode = header.opcode
        fin = header.fin
        maskKey = header.maskKey ?? 0
        frameLength = UInt32(header.length)
        frameReceived = 0
        if opcode == WebSocketOpcode.text.rawValue || opcode == WebSocketOpcode.binary.rawValue {
            messageOpcode = opcode
            messageSize = 0
            utf8.reset()
        }
    }

    // MARK: payload

    /// Returns an event when a frame completes one; nil when it needs more input (phase stays
    /// `.payload`) or when a non-final fragment was stored (phase back to `.header`).
    private mutating func readPayload(_ input: inout UnsafeRawBufferPointer,
                                      _ scratch: WebSocketServerSettings?) throws(WebSocketError) -> WebSocketEvent? {
        let isControl = opcode & 0x8 != 0
        let wholeMessage = isControl || (fin && opcode != WebSocketOpcode.continuation.rawValue)
        let frameLength = Int(self.frameLength)
        if wholeMessage && frameReceived == 0 && input.count >= frameLength && (!masked || scratch != nil) {
            let raw = UnsafeRawBufferPointer(rebasing: input[..<frameLength])
            input = UnsafeRawBufferPointer(rebasing: input[frameLength...])
            var payload = raw
            if masked, let scratch, let source = raw.baseAddress {
                let target = scratch.reserve(frameLength)
                WebSocketMask.apply(key: maskKey, phase: 0, from: source, to: target, count: frameLength)
                payload = UnsafeRawBufferPointer(start: target, count: frameLength)
            }
            phase = .header
            if isControl { return try controlEvent(payload) }
            if opcode == WebSocketOpcode.text.rawValue {
                utf8.feed(payload)
                if !utf8.isComplete { throw .invalidUTF8 }
            }
            messageOpcode = 0
            return opcode == WebSocketOpcode.text.rawValue ? .text(payload) : .binary(payload)
        }

        // The frame (or its message) spans reads: copy what is here into the per-connection buffer. A
        // control frame goes after the bytes of a message it interrupts, which stay where they are.
        let received = Int(frameReceived)
        let position = isControl ? Int(messageSize) + received : Int(messageSize)
        let take = min(input.count, frameLength - received)
        let needed = position + (frameLength - received)
        // Allocated only once payload bytes are here: a header at the end of one read with its payload
        // wholly in the next still takes the path above.
        if take > 0 {
            if let partial {
                partial.reserve(needed, keeping: position, limit: Int(limit) + 125)
            } else {
                partial = PartialBuffer(capacity: needed)
            }
        }
        if take > 0, let buffer = partial, let source = input.baseAddress {
            let target = buffer.base + position
            if masked {
                WebSocketMask.apply(key: maskKey, phase: received & 3, from: source, to: target, count: take)
            } else {
                target.copyMemory(from: source, byteCount: take)
            }
            if !isControl {
                if messageOpcode == WebSocketOpcode.text.rawValue
                    && !utf8.feed(UnsafeRawBufferPointer(start: target, count: take)) {
                    throw .invalidUTF8
                }
                messageSize += UInt32(take)
            }
            frameReceived += UInt32(take)
            input = UnsafeRawBufferPointer(rebasing: input[take...])
        }
        if self.frameReceived < self.frameLength { return nil }

        phase = .header
        if isControl {
            cleanup = .control
            return try controlEvent(UnsafeRawBufferPointer(start: partial.map { $0.base + Int(messageSize) }, count: frameLength))
        }
        if !fin { return nil }
        if messageOpcode == WebSocketOpcode.text.rawValue && !utf8.isComplete { throw .invalidUTF8 }
        let payload = UnsafeRawBufferPointer(start: partial?.base, count: Int(messageSize))
        let isText = messageOpcode == WebSocketOpcode.text.rawValue
        messageOpcode = 0
        messageSize = 0
        cleanup = .message
        return isText ? .text(payload) : .binary(payload)
    }

    private mutating func controlEvent(_ payload: UnsafeRawBufferPointer) throws(WebSocketError) -> WebSocketEvent {
        switch opcode {
        case WebSocketOpcode.ping.rawValue:
            return .ping(payload)
        case WebSocketOpcode.pong.rawValue:
            return .pong
        default:
            phase = .closed
            guard payload.count >= 2 else { return .close(code: nil, reason: "") }
            let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
            guard WebSocketCloseCode.isValidOnWire(code) else { throw .invalidCloseCode(code) }
            let reason = UnsafeRawBufferPointer(rebasing: payload[2...])
            guard UTF8Validator.isValid(reason) else { throw .invalidUTF8 }
            return .close(code: code, reason: String(decoding: reason, as: UTF8.self))
        }
    }
}

@available(*, unavailable)
extension WebSocketFrameParser: Sendable {}
