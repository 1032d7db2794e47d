/// What a `WebSocketClient` tells its owner. Payload pointers are valid only during the call; pings are
/// answered by the client itself.
public protocol WebSocketClientDelegate: AnyObject {
    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer)
    /// Default: ignored.
    func didReceiveBinary(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer)
    /// Default: ignored.
    func didReceivePong(_ client: WebSocketClient)
    /// Called once, after the TCP connection closed; `code` as for `WebSocketConnectionDelegate.didClose`.
    func didClose(_ client: WebSocketClient, code: UInt16, reason: String)
}

extension WebSocketClientDelegate {
    public func didReceiveBinary(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {}
    public func didReceivePong(_ client: WebSocketClient) {}
}
