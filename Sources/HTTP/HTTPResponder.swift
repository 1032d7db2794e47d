import EventLoop

/// The way back to the client for one request. A handler calls `send` exactly once, now or later (after
/// a Redis reply, say); until then the connection reads no further request, so responses leave in
/// request order.
public final class HTTPResponder {
    private weak var owner: HTTPServerConnection?
    private let serial: UInt64
    /// The client's address (captured at accept, so it stays available after the client left).
    public let peerAddress: SocketAddress?

    init(owner: HTTPServerConnection, serial: UInt64, peerAddress: SocketAddress?) {
        self.owner = owner
        self.serial = serial
        self.peerAddress = peerAddress
    }

    /// Whether the client is still connected and waiting for this response.
    public var isWaiting: Bool { owner?.isWaiting(serial: serial) ?? false }

    /// Writes the response. Calls after the first, or after the client disconnected, do nothing.
    public func send(_ response: HTTPResponse) {
        owner?.send(response, serial: serial)
    }
}

@available(*, unavailable)
extension HTTPResponder: Sendable {}
