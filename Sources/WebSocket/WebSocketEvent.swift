/// What the frame parser delivers. Payload pointers borrow the parser's input, the loop's scratch or the
/// connection's partial-message buffer: they are valid only until the parser is called again.
public enum WebSocketEvent {
    /// A complete text message, already checked to be valid UTF-8.
    case text(UnsafeRawBufferPointer)
    /// A complete binary message.
    case binary(UnsafeRawBufferPointer)
    case ping(UnsafeRawBufferPointer)
    case pong
    /// The peer's close frame: `code` is nil when the frame had no payload. Nothing after it is parsed.
    case close(code: UInt16?, reason: String)
}
