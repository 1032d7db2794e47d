import EventLoop

/// Why an outgoing request failed.
public enum OutboundHTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `http://` to a host that is not loopback: secrets and tokens never cross a network in clear.
    case insecureURL
    case resolveFailed(UVError)
    case connectFailed(UVError)
    /// The TLS handshake failed: an untrusted chain, a certificate for another name, a protocol error.
    case tlsFailed(String)
    /// Connecting (DNS, TCP, TLS) or waiting for the next response bytes took longer than allowed.
    case timedOut
    /// The peer closed or reset the connection before a whole response arrived.
    case connectionClosed(UVError?)
    /// The response did not parse, or its head or body was over the limits.
    case malformedResponse(HTTPParseError)

    public var description: String {
        switch self {
        case .insecureURL: "plain http is allowed only to a loopback host"
        case .resolveFailed(let error): "name resolution failed (\(error))"
        case .connectFailed(let error): "connect failed (\(error))"
        case .tlsFailed(let reason): "TLS failed (\(reason))"
        case .timedOut: "timed out"
        case .connectionClosed(let error): "connection closed before the response" + (error.map { " (\($0))" } ?? "")
        case .malformedResponse(let error): "malformed response (\(error))"
        }
    }
}

/// HTTP/1.1 requests to other servers (identity providers, webhooks): one request per connection
/// (`Connection: close`), TLS through OpenSSL with the certificate checked against the host name,
/// every phase under a timeout and every response under a size bound. Bound to one loop.
public final class OutboundHTTPClient {
    public let loop: EventLoop
    /// Nil: only `http://` to loopback hosts can be called.
    let tls: TLSClientContext?
    /// Name resolution, TCP connect and TLS handshake together.
    public var connectTimeoutMs: UInt64 = 5_000
    /// Longest silence while waiting for the response.
    public var readTimeoutMs: UInt64 = 10_000
    /// Head and body limits of a response: discovery documents, key sets and token responses are a
    /// few KiB, so 1 MiB is ample and keeps a hostile server from filling memory.
    public var limits = HTTPLimits(maxHeadBytes: 32 * 1024, maxHeaderCount: 100, maxBodyBytes: 1 << 20, maxURILength: 8 * 1024)

    public init(loop: EventLoop, tls: TLSClientContext?) {
        self.loop = loop
        self.tls = tls
    }

    /// Sends one request; `completion` runs exactly once, on the loop, unless the request is cancelled first.
    @discardableResult
    public func send(method: String, url: OutboundURL, headers: HTTPHeaders = [], body: [UInt8] = [],
                     completion: @escaping (Result<HTTPClientResponse, OutboundHTTPError>) -> Void) -> OutboundHTTPRequest {
        guard url.isHTTPS || url.isLoopback else {
            completion(.failure(.insecureURL))
            return OutboundHTTPRequest(exchange: nil)
        }
        var request: [UInt8] = []
        request.append(contentsOf: "\(method) \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nConnection: close\r\n".utf8)
        request.append(contentsOf: "User-Agent: attendance\r\n".utf8)
        for field in headers { request.append(contentsOf: "\(field.name): \(field.value)\r\n".utf8) }
        if !body.isEmpty || method == "POST" { request.append(contentsOf: "Content-Length: \(body.count)\r\n".utf8) }
        request.append(contentsOf: "\r\n".utf8)
        request.append(contentsOf: body)
        let exchange = OutboundExchange(client: self, url: url, request: request, isHEAD: method == "HEAD", completion: completion)
        exchange.start()
        return OutboundHTTPRequest(exchange: exchange)
    }
}

/// A request in flight, to give up on it: a caller with its own deadline (a webhook's whole-request
/// timeout) closes the connection at once instead of leaving it to the client's per-phase timeouts.
public struct OutboundHTTPRequest {
    fileprivate let exchange: OutboundExchange?

    /// Closes the connection; the completion does not run (if it has not already).
    public func cancel() { exchange?.cancel() }
}

@available(*, unavailable)
extension OutboundHTTPClient: Sendable {}

/// One request's life: resolve, connect (each resolved address in turn), TLS, write, read. It keeps
/// itself alive through the callbacks it is waiting for and lets go when it finishes.
private final class OutboundExchange: TCPConnectionDelegate {
    private let client: OutboundHTTPClient
    private let url: OutboundURL
    private let request: [UInt8]
    private let isHEAD: Bool
    private var completion: ((Result<HTTPClientResponse, OutboundHTTPError>) -> Void)?
    private var parser: HTTPResponseParser
    private let timer: LoopTimer
    private var connection: TCPConnection?
    private var session: TLSClientSession?
    private var handshaking = false

    init(client: OutboundHTTPClient, url: OutboundURL, request: [UInt8], isHEAD: Bool,
         completion: @escaping (Result<HTTPClientResponse, OutboundHTTPError>) -> Void) {
        self.client = client
        self.url = url
        self.request = request
        self.isHEAD = isHEAD
        self.completion = completion
        parser = HTTPResponseParser(limits: client.limits)
        timer = LoopTimer(loop: client.loop)
    }

    func start() {
        timer.start(timeoutMs: client.connectTimeoutMs) { self.finish(.failure(.timedOut)) }
        if url.isHTTPS {
            guard let context = client.tls, let session = TLSClientSession(context: context, url: url) else {
                return finish(.failure(.tlsFailed("no TLS client context")))
            }
            self.session = session
        }
        DNSResolver.resolve(loop: client.loop, host: url.host, port: url.port) { result in
            guard self.completion != nil else { return }
            switch result {
            case .success(let addresses): self.connect(addresses[...], lastError: nil)
            case .failure(let error): self.finish(.failure(.resolveFailed(error)))
            }
        }
    }

    private func connect(_ addresses: ArraySlice<SocketAddress>, lastError: UVError?) {
        guard let address = addresses.first else {
            return finish(.failure(.connectFailed(lastError ?? .connectionRefused)))
        }
        TCPConnection.connect(loop: client.loop, to: address) { result in
            guard self.completion != nil else {
                if case .success(let connection) = result { connection.close() }
                return
            }
            switch result {
            case .failure(let error):
                self.connect(addresses.dropFirst(), lastError: error)
            case .success(let connection):
                self.connection = connection
                connection.delegate = self
                connection.startReading()
                self.connected()
            }
        }
    }

    private func connected() {
        guard let session else {
            timer.start(timeoutMs: client.readTimeoutMs) { self.finish(.failure(.timedOut)) }
            connection?.write(request)
            return
        }
        handshaking = true
        advanceHandshake(session)
    }

    private func advanceHandshake(_ session: TLSClientSession) {
        let progress = session.handshake()
        flush(session)
        switch progress {
        case .needMore:
            return
        case .failed(let reason):
            finish(.failure(.tlsFailed(reason)))
        case .done:
            handshaking = false
            timer.start(timeoutMs: client.readTimeoutMs) { self.finish(.failure(.timedOut)) }
            guard session.write(request) else { return finish(.failure(.tlsFailed("could not encrypt the request"))) }
            flush(session)
            readPlaintext(session)
        }
    }

    private func flush(_ session: TLSClientSession) {
        let out = session.drainOutput()
        if !out.isEmpty { connection?.write(out) }
    }

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        guard completion != nil else { return }
        guard let session else {
            timer.start(timeoutMs: client.readTimeoutMs) { self.finish(.failure(.timedOut)) }
            return parse(bytes)
        }
        guard session.feed(bytes) else { return finish(.failure(.tlsFailed("could not buffer TLS input"))) }
        if handshaking { return advanceHandshake(session) }
        timer.start(timeoutMs: client.readTimeoutMs) { self.finish(.failure(.timedOut)) }
        readPlaintext(session)
    }

    private func readPlaintext(_ session: TLSClientSession) {
        let progress = session.read { plaintext in
            if completion != nil { parse(plaintext) }
        }
        flush(session)
        switch progress {
        case .needMore: break
        case .done: peerClosed(nil)
        case .failed(let reason): finish(.failure(.tlsFailed(reason)))
        }
    }

    private func parse(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count, completion != nil {
            do {
                let step = try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...]), isResponseToHEAD: isHEAD)
                offset += step.consumed
                if let response = step.response { return finish(.success(response)) }
                if step.consumed == 0 { return }
            } catch {
                return finish(.failure(.malformedResponse(error)))
            }
        }
    }

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) {
        self.connection = nil
        peerClosed(error)
    }

    /// The peer ended the stream: a response delimited by the close is complete, anything else is cut off.
    private func peerClosed(_ error: UVError?) {
        guard completion != nil else { return }
        if handshaking { return finish(.failure(.tlsFailed("the server closed the connection during the handshake"))) }
        if error == nil, let response = try? parser.finish() { return finish(.success(response)) }
        finish(.failure(.connectionClosed(error)))
    }

    func cancel() {
        guard completion != nil else { return }
        completion = nil
        timer.close()
        connection?.close()
        connection = nil
    }

    private func finish(_ result: Result<HTTPClientResponse, OutboundHTTPError>) {
        guard let completion else { return }
        cancel()
        completion(result)
    }
}
