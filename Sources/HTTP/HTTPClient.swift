import EventLoop

/// A minimal HTTP/1.1 client for tests and the load tool: one keep-alive connection, requests may be
/// pipelined, completions run in request order. If the connection closes, every request still waiting
/// fails with `.connectionClosed`. Not for upgrades: bytes after a 101 are read as HTTP.
public final class HTTPClient {
    public typealias Completion = (Result<HTTPClientResponse, HTTPClientError>) -> Void

    private struct Waiting {
        let isHEAD: Bool
        let completion: Completion
    }

    /// Relays the connection's callbacks, so the client does not expose delegate methods as API.
    private final class Relay: TCPConnectionDelegate {
        let client: HTTPClient
        init(_ client: HTTPClient) { self.client = client }
        func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) { client.didRead(bytes) }
        func connectionDidClose(_ connection: TCPConnection, error: UVError?) { client.didClose(error) }
    }

    private let connection: TCPConnection
    private let host: String
    private var parser: HTTPResponseParser
    private var waiting: [Waiting] = []
    private var waitingHead = 0
    /// Whether the connection is still open.
    public private(set) var isOpen = true

    /// Requests sent and not yet answered.
    public var pendingCount: Int { waiting.count - waitingHead }

    private init(connection: TCPConnection, host: String, limits: HTTPLimits) {
        self.connection = connection
        self.host = host
        parser = HTTPResponseParser(limits: limits)
    }

    /// Opens a connection; `completion` gets the client once connected.
    public static func connect(loop: EventLoop, address: SocketAddress, source: SocketAddress? = nil, limits: HTTPLimits = .client,
                               completion: @escaping (Result<HTTPClient, HTTPClientError>) -> Void) {
        TCPConnection.connect(loop: loop, to: address, from: source) { result in
            switch result {
            case .success(let connection):
                let client = HTTPClient(connection: connection, host: address.description, limits: limits)
                connection.delegate = Relay(client)
                connection.startReading()
                completion(.success(client))
            case .failure(let error):
                completion(.failure(.connectFailed(error)))
            }
        }
    }

    /// Writes a request now. `Host` is added unless given; `Content-Length` is added unless `headers`
    /// has Content-Length or Transfer-Encoding (then `body` is sent as is, for tests of framing). On a
    /// closed connection `completion` fails at once.
    public func send(method: String, path: String, headers: HTTPHeaders = [], body: [UInt8] = [],
                     completion: @escaping Completion) {
        guard isOpen else {
            completion(.failure(.connectionClosed(nil)))
            return
        }
        var out: [UInt8] = []
        out.reserveCapacity(64 + path.utf8.count + body.count + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 })
        out.append(contentsOf: "\(method) \(path) HTTP/1.1\r\n".utf8)
        if !headers.contains("host") { out.append(contentsOf: "Host: \(host)\r\n".utf8) }
        for field in headers { out.append(contentsOf: "\(field.name): \(field.value)\r\n".utf8) }
        if !headers.contains("content-length") && !headers.contains("transfer-encoding")
            && (!body.isEmpty || method == "POST" || method == "PUT" || method == "PATCH") {
            out.append(contentsOf: "Content-Length: \(body.count)\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: body)
        waiting.append(Waiting(isHEAD: method == "HEAD", completion: completion))
        connection.write(out)
    }

    /// Closes the connection; waiting requests fail with `.connectionClosed(nil)`.
    public func close() {
        connection.close()
    }

    private func didRead(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count && isOpen {
            let isHEAD = waitingHead < waiting.count && waiting[waitingHead].isHEAD
            let step: (consumed: Int, response: HTTPClientResponse?)
            do {
                step = try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...]), isResponseToHEAD: isHEAD)
            } catch {
                failAll(.malformedResponse(error))
                connection.close()
                return
            }
            offset += step.consumed
            if let response = step.response {
                guard let next = popWaiting() else {
                    // A response nobody asked for: the stream can no longer be trusted.
                    failAll(.malformedResponse(.badStatusLine))
                    connection.close()
                    return
                }
                next.completion(.success(response))
            }
        }
    }

    private func didClose(_ error: UVError?) {
        isOpen = false
        do {
            if let response = try parser.finish(), let next = popWaiting() {
                next.completion(.success(response))
            }
        } catch {
            // A response cut off by the close is reported as the close.
        }
        failAll(.connectionClosed(error))
    }

    private func popWaiting() -> Waiting? {
        guard waitingHead < waiting.count else { return nil }
        let next = waiting[waitingHead]
        waitingHead += 1
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
        return next
    }

    private func failAll(_ error: HTTPClientError) {
        while let next = popWaiting() { next.completion(.failure(error)) }
    }
}

@available(*, unavailable)
extension HTTPClient: Sendable {}
