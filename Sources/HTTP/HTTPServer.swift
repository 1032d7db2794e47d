import EventLoop
import Logging

/// An HTTP/1.1 server on one loop. Each request goes to `handler` with a responder; the handler may
/// answer at once or later. Requests with an `Upgrade` header first go to `upgradeHandler`, which can
/// take the socket over (WebSocket). The server keeps itself alive until `close()` and its last
/// connection are done.
public final class HTTPServer {
    public typealias Handler = (HTTPRequest, HTTPResponder) -> Void
    /// Returns true to take the connection: it then belongs to the caller, who sets itself as the
    /// connection's delegate (in this call) and receives `leftover`, the bytes that followed the request.
    /// Returning false lets `handler` answer the request as usual.
    public typealias UpgradeHandler = (_ request: HTTPRequest, _ connection: TCPConnection, _ leftover: [UInt8]) -> Bool

    unowned(unsafe) let loop: EventLoop
    let configuration: HTTPServerConfiguration
    let handler: Handler
    let upgradeHandler: UpgradeHandler?
    let logger: Logger?
    private var listener: TCPServer?
    private var sweepTimer: LoopTimer?
    private var connections: [ObjectIdentifier: HTTPServerConnection] = [:]

    /// The bound address (with the real port when listening on port 0).
    public let address: SocketAddress
    /// Set by `close()`: no new connections, and every response from then on closes its connection.
    public private(set) var isClosing = false
    /// HTTP connections open now (upgraded ones are no longer counted).
    public var openConnections: Int { connections.count }
    /// Connections accepted since start.
    public internal(set) var acceptedConnections: UInt64 = 0
    /// Responses written by handlers.
    public internal(set) var requestsServed: UInt64 = 0
    /// Requests answered with a parse error or a timeout (408).
    public internal(set) var rejectedRequests: UInt64 = 0
    /// Connections handed to the upgrade handler.
    public internal(set) var upgradedConnections: UInt64 = 0

    public init(loop: EventLoop, address: SocketAddress, configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
                logger: Logger? = nil, upgradeHandler: UpgradeHandler? = nil,
                handler: @escaping Handler) throws(UVError) {
        self.loop = loop
        self.configuration = configuration
        self.handler = handler
        self.upgradeHandler = upgradeHandler
        self.logger = logger
        var acceptHook: ((TCPConnection) -> Void)?
        let listener = try TCPServer(loop: loop, address: address, reusePort: configuration.reusePort,
                                     backlog: configuration.backlog,
                                     onAcceptError: { error in logger?.warning("accept failed: \(error)") },
                                     onAccept: { acceptHook?($0) })
        if let limiter = configuration.connectionLimiter {
            listener.limiter = limiter
            let refusal = HTTPResponse.error(503, code: "unavailable", message: "too many connections; retry later")
                .adding("Retry-After", String(configuration.retryAfterS)).adding("Connection", "close").serialize()
            listener.onRefuse = { connection, _ in
                // Answered before the request is read (HTTP allows an early response); the linger then
                // reads and discards the request so the answer is not lost to a reset.
                connection.write(refusal)
                connection.shutdown(lingerMs: 1000)
            }
        }
        self.listener = listener
        self.address = listener.address
        // The listener's closure holds the server until `close()` drops it (TCPServer.close releases it).
        acceptHook = { self.accept($0) }

        let timer = LoopTimer(loop: loop)
        timer.unref()
        let interval = max(configuration.sweepIntervalMs, 1)
        timer.start(timeoutMs: interval, repeatMs: interval) {
            self.sweep()
        }
        sweepTimer = timer
    }

    private func accept(_ connection: TCPConnection) {
        acceptedConnections &+= 1
        let owner = HTTPServerConnection(server: self, connection: connection, nowMs: loop.nowMs)
        connections[ObjectIdentifier(owner)] = owner
        connection.delegate = owner
        connection.startReading()
    }

    private func sweep() {
        let now = loop.nowMs
        for connection in Array(connections.values) { connection.sweep(nowMs: now) }
    }

    /// Stops accepting and closes every connection that is between requests. Connections in the middle
    /// of a request finish it (answered with `Connection: close`) or are cut off by the sweep.
    public func close() {
        guard !isClosing else { return }
        isClosing = true
        listener?.close()
        listener = nil
        for connection in Array(connections.values) { connection.closeIfIdle() }
        stopSweepIfDone()
    }

    func connectionDidClose(_ connection: HTTPServerConnection) {
        connections[ObjectIdentifier(connection)] = nil
        stopSweepIfDone()
    }

    func connectionWasUpgraded(_ connection: HTTPServerConnection) {
        upgradedConnections &+= 1
        connections[ObjectIdentifier(connection)] = nil
        stopSweepIfDone()
    }

    private func stopSweepIfDone() {
        if isClosing && connections.isEmpty {
            sweepTimer?.close()
            sweepTimer = nil
        }
    }
}

@available(*, unavailable)
extension HTTPServer: Sendable {}
