/// Why this side fails a WebSocket connection. The one place where each reason becomes a close code and
/// a short reason phrase is `closeCode` / `closeReason` below; everything else passes the case along.
public enum WebSocketError: Error, Equatable, Sendable {
    /// RSV1–3 set without a negotiated extension (none is ever negotiated here).
    case reservedBitsSet
    case unknownOpcode(UInt8)
    case fragmentedControlFrame
    case controlFrameTooLong
    /// A client sent an unmasked frame (a server must fail it, §5.1).
    case unmaskedClientFrame
    /// A server sent a masked frame (a client must fail it, §5.1).
    case maskedServerFrame
    /// A continuation frame arrived with no fragmented message open.
    case unexpectedContinuation
    /// A new text or binary frame arrived while a fragmented message was still open.
    case expectedContinuation
    /// A 64-bit payload length with its most significant bit set (§5.2).
    case invalidPayloadLength
    /// A close frame whose payload is one byte (a code needs two).
    case invalidClosePayload
    case invalidCloseCode(UInt16)
    /// A text message or close reason that is not valid UTF-8.
    case invalidUTF8
    /// A message (all its fragments together) larger than the configured limit.
    case messageTooBig
    /// The peer stopped reading and its send queue passed the limit.
    case slowConsumer

    public var closeCode: UInt16 {
        switch self {
        case .reservedBitsSet, .unknownOpcode, .fragmentedControlFrame, .controlFrameTooLong,
             .unmaskedClientFrame, .maskedServerFrame, .unexpectedContinuation, .expectedContinuation,
             .invalidPayloadLength, .invalidClosePayload, .invalidCloseCode:
            return WebSocketCloseCode.protocolError
        case .invalidUTF8: return WebSocketCloseCode.invalidPayload
        case .messageTooBig: return WebSocketCloseCode.messageTooBig
        case .slowConsumer: return WebSocketCloseCode.tryAgainLater
        }
    }

    /// Short, fixed ASCII phrases (they must fit a close frame's 123 bytes and echo no peer input).
    public var closeReason: String {
        switch self {
        case .reservedBitsSet: return "reserved bits set"
        case .unknownOpcode: return "unknown opcode"
        case .fragmentedControlFrame: return "fragmented control frame"
        case .controlFrameTooLong: return "control frame too long"
        case .unmaskedClientFrame: return "client frame not masked"
        case .maskedServerFrame: return "server frame masked"
        case .unexpectedContinuation: return "unexpected continuation frame"
        case .expectedContinuation: return "expected continuation frame"
        case .invalidPayloadLength: return "invalid payload length"
        case .invalidClosePayload: return "invalid close payload"
        case .invalidCloseCode: return "invalid close code"
        case .invalidUTF8: return "invalid UTF-8"
        case .messageTooBig: return "message too big"
        case .slowConsumer: return "slow consumer"
        }
    }
}
