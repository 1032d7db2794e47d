/// What a server-side `WebSocketConnection` tells its owner. Payload pointers are valid only during the
/// call. Pings are answered by the connection itself.
public protocol WebSocketConnectionDelegate: AnyObject {
    /// A complete text message, already checked to be valid UTF-8.
    func didReceiveText(_ connection: WebSocketConnection, _ bytes: UnsafeRawBufferPointer)
    /// A complete binary message. The default refuses it with 1003: the hub's protocol is text only.
    func didReceiveBinary(_ connection: WebSocketConnection, _ bytes: UnsafeRawBufferPointer)
    /// Called exactly once, after the TCP connection closed. `code` is the code of the close frame that
    /// began the closing handshake (sent by either side: the peer's, 1005 if its frame had none, or
    /// ours, including 1002/1007/1009/1013 for failures), or 1006 if the connection ended without one.
    func didClose(_ connection: WebSocketConnection, code: UInt16, reason: String)
    /// Everything queued has gone to the kernel: a writer that paused for a slow reader may go on.
    func didDrain(_ connection: WebSocketConnection)
}

extension WebSocketConnectionDelegate {
    public func didDrain(_ connection: WebSocketConnection) {}

    public func didReceiveBinary(_ connection: WebSocketConnection, _ bytes: UnsafeRawBufferPointer) {
        connection.close(code: WebSocketCloseCode.unsupportedData, reason: "binary messages not supported")
    }
}
