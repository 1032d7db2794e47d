import EventLoop

/// One accepted socket of an HTTPServer: parses requests, hands them out one at a time, writes the
/// responses, and gives the socket away on an upgrade.
final class HTTPServerConnection: TCPConnectionDelegate {
    enum Phase: Equatable {
        /// Parsing; no request is with a handler.
        case reading
        /// A handler holds the current request; later bytes wait in `pending`.
        case responding
        /// The last response is written; waiting for the shutdown to finish.
        case closing(sinceMs: UInt64)
        /// The upgrade handler owns the socket; nothing here may touch it again.
        case upgraded
        case closed
    }

    /// Bytes that arrived while a handler held a request. Past this, reading pauses until the response
    /// goes out, so a pipelining client cannot make the server buffer without bound.
    static let pendingLimit = 64 * 1024

    /// Interim answer to `Expect: 100-continue` (curl sends it for bodies over 1 KiB and otherwise
    /// waits a second before sending the body).
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    let server: HTTPServer
    let connection: TCPConnection
    let peerAddress: SocketAddress?
    private(set) var phase = Phase.reading
    private var parser: HTTPRequestParser
    private var pending: [UInt8] = []
    private var readingPaused = false
    /// True while `process` runs, so a synchronous `send` lets the running loop parse the next request
    /// instead of starting a nested one.
    private var isProcessing = false
    private var serial: UInt64 = 0
    private var currentIsHEAD = false
    private var currentVersion = HTTPVersion.http1_1
    private var currentKeepAlive = true
    /// When the request now arriving started (its first byte, or the accept for the first request);
    /// nil while no request is expected to be in progress.
    private var requestStartMs: UInt64?
    private var lastActivityMs: UInt64

    init(server: HTTPServer, connection: TCPConnection, nowMs: UInt64) {
        self.server = server
        self.connection = connection
        peerAddress = connection.peerAddress
        parser = HTTPRequestParser(limits: server.configuration.limits)
        requestStartMs = nowMs
        lastActivityMs = nowMs
    }

    // MARK: reading

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        lastActivityMs = server.loop.nowMs
        switch phase {
        case .reading:
            process(bytes)
        case .responding:
            stash(bytes)
        case .closing, .upgraded, .closed:
            break
        }
    }

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        if phase == .upgraded { return }
        phase = .closed
        pending = []
        server.connectionDidClose(self)
    }

    private func process(_ input: UnsafeRawBufferPointer) {
        isProcessing = true
        defer { isProcessing = false }
        var offset = 0
        while offset < input.count && phase == .reading {
            let step: (consumed: Int, request: HTTPRequest?)
            do {
                step = try parser.parse(UnsafeRawBufferPointer(rebasing: input[offset...]))
            } catch {
                reject(error)
                return
            }
            offset += step.consumed
            if parser.takeContinueRequest() {
                connection.write(Self.continueResponse)
            }
            if let request = step.request {
                requestStartMs = nil
                dispatch(request, leftover: UnsafeRawBufferPointer(rebasing: input[offset...]))
                if phase == .upgraded { return }
            } else if requestStartMs == nil && parser.hasPartialRequest {
                requestStartMs = server.loop.nowMs
            }
        }
        if phase == .responding && offset < input.count {
            stash(UnsafeRawBufferPointer(rebasing: input[offset...]))
        }
    }

    private func stash(_ bytes: UnsafeRawBufferPointer) {
        pending.append(contentsOf: bytes)
        if pending.count > Self.pendingLimit && !readingPaused {
            readingPaused = true
            connection.stopReading()
        }
    }

    /// After a response: parse what waited, then read again if reading was paused.
    private func resume() {
        guard !isProcessing, phase == .reading else { return }
        if !pending.isEmpty {
            let buffered = pending
            pending = []
            buffered.withUnsafeBytes { process($0) }
        }
        if readingPaused && pending.count <= Self.pendingLimit && (phase == .reading || phase == .responding) {
            readingPaused = false
            connection.startReading()
        }
    }

    private func dispatch(_ request: HTTPRequest, leftover: UnsafeRawBufferPointer) {
        if let upgradeHandler = server.upgradeHandler, request.headers.contains("upgrade") {
            // The new owner gets a reading socket even if a full pipeline buffer had paused it.
            if readingPaused {
                readingPaused = false
                connection.startReading()
            }
            if upgradeHandler(request, connection, Array(leftover)) {
                phase = .upgraded
                server.connectionWasUpgraded(self)
                return
            }
        }
        serial &+= 1
        phase = .responding
        currentIsHEAD = request.method == "HEAD"
        currentVersion = request.version
        currentKeepAlive = request.keepAlive
        server.handler(request, HTTPResponder(owner: self, serial: serial, peerAddress: peerAddress))
    }

    // MARK: writing

    func isWaiting(serial: UInt64) -> Bool {
        phase == .responding && serial == self.serial
    }

    func send(_ response: HTTPResponse, serial: UInt64) {
        guard isWaiting(serial: serial) else {
            if phase == .responding || phase == .reading {
                server.logger?.warning("HTTP response sent twice or for a stale request; ignored")
            }
            return
        }
        var response = response
        response.keepAlive = response.keepAlive && currentKeepAlive && !server.isClosing
            && !response.headers.containsToken("close", for: "connection")
        if response.keepAlive && currentVersion == .http1_0 {
            response.headers.set("Connection", "keep-alive")
        }
        connection.write(response.serialize(includeBody: !currentIsHEAD))
        server.requestsServed &+= 1
        lastActivityMs = server.loop.nowMs
        if response.keepAlive && connection.isOpen {
            phase = .reading
            resume()
        } else {
            finish()
        }
    }

    /// Answers a request that cannot be parsed with its mapped error, then closes.
    private func reject(_ error: HTTPParseError) {
        server.rejectedRequests &+= 1
        server.logger?.debug("rejected HTTP request", metadata: [
            "peer": "\(peerAddress.map { $0.description } ?? "?")", "error": "\(error)"])
        connection.write(HTTPResponse(error).serialize())
        finish()
    }

    /// Sends what is written, then closes; a peer that never reads is cut off by the sweep.
    private func finish() {
        phase = .closing(sinceMs: server.loop.nowMs)
        pending = []
        connection.shutdown()
    }

    // MARK: sweep and shutdown

    /// Called by the server's periodic sweep.
    func sweep(nowMs: UInt64) {
        let configuration = server.configuration
        switch phase {
        case .reading:
            if let start = requestStartMs {
                if nowMs >= start &+ configuration.headerTimeoutMs {
                    server.rejectedRequests &+= 1
                    var response = HTTPResponse.error(408, code: "bad_request", message: "request not completed in time")
                    response.keepAlive = false
                    connection.write(response.serialize())
                    finish()
                }
            } else if nowMs >= lastActivityMs &+ configuration.idleTimeoutMs {
                connection.close()
            }
        case .closing(let since):
            if nowMs >= since &+ configuration.headerTimeoutMs { connection.close() }
        case .responding, .upgraded, .closed:
            break
        }
    }

    /// Server shutdown: a connection between requests closes now; one with a request in progress
    /// finishes it and closes after its response (`server.isClosing` clears keep-alive).
    func closeIfIdle() {
        if phase == .reading && !parser.hasPartialRequest { connection.close() }
    }
}

@available(*, unavailable)
extension HTTPServerConnection: Sendable {}
