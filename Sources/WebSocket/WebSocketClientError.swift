import EventLoop

/// Why `WebSocketClient.connect` failed.
public enum WebSocketClientError: Error, Equatable, Sendable {
    case connectFailed(UVError)
    /// The server's answer was not a valid 101 for our key; the text says what was wrong.
    case handshakeFailed(String)
    /// The connection closed before the handshake completed.
    case closedDuringHandshake
}
