import EventLoop
import HTTP

/// Why a webhook request got no HTTP status.
public enum WebhookTransportError: Error, Equatable, CustomStringConvertible {
    /// A URL this transport cannot reach (e.g. https:// on the plain-HTTP transport).
    case unsupportedURL(String)
    case connectFailed(String)
    case timedOut
    /// The connection closed or broke (reset) before a complete response.
    case connectionFailed(String)

    public var description: String {
        switch self {
        case .unsupportedURL(let detail): "unsupported URL: \(detail)"
        case .connectFailed(let detail): "connect failed: \(detail)"
        case .timedOut: "no response within the timeout"
        case .connectionFailed(let detail): "connection failed: \(detail)"
        }
    }
}

/// All webhook delivery needs from HTTP: one POST. A transport for https:// URLs (DNS and TLS) plugs
/// in here (`APIServer.makeWebhookTransport`) without touching the queue or the retry logic.
public protocol WebhookTransport: AnyObject {
    /// POSTs `body` to `url` with `headers`; completes once, on the loop, with the response status
    /// or why there is none (at the latest after `timeoutMs`).
    func post(url: String, headers: HTTPHeaders, body: [UInt8], timeoutMs: UInt64,
              completion: @escaping (Result<Int, WebhookTransportError>) -> Void)
}

/// `http://` URLs whose host is an IP address or `localhost`, over the project's HTTPClient: one
/// connection per request, closed after the response.
public final class PlainHTTPWebhookTransport: WebhookTransport {
    let loop: EventLoop

    public init(loop: EventLoop) { self.loop = loop }

    /// The address and request target of a URL this transport can reach, or why not.
    public static func parse(_ url: String) -> Result<(address: SocketAddress, target: String, host: String), WebhookTransportError> {
        guard url.hasPrefix("http://") else {
            return .failure(.unsupportedURL("only http:// is supported by this build (\(url.prefix(100)))"))
        }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let target = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.contains("@"), !target.contains(" "), !target.contains("\r"), !target.contains("\n") else {
            return .failure(.unsupportedURL("malformed URL \(url.prefix(100))"))
        }
        let withPort = authority.hasSuffix("]") || !authority.contains(":") ? authority + ":80" : authority
        guard let address = try? SocketAddress(parsing: withPort) else {
            return .failure(.unsupportedURL("the host must be an IP address or localhost (\(url.prefix(100)))"))
        }
        return .success((address, target, authority))
    }

    public func post(url: String, headers: HTTPHeaders, body: [UInt8], timeoutMs: UInt64,
                     completion: @escaping (Result<Int, WebhookTransportError>) -> Void) {
        let parsed: (address: SocketAddress, target: String, host: String)
        switch Self.parse(url) {
        case .failure(let error): return completion(.failure(error))
        case .success(let value): parsed = value
        }
        var finished = false
        var client: HTTPClient?
        let timer = LoopTimer(loop: loop)
        let finish = { (result: Result<Int, WebhookTransportError>) in
            guard !finished else { return }
            finished = true
            timer.close()
            client?.close()
            completion(result)
        }
        timer.start(timeoutMs: timeoutMs) { finish(.failure(.timedOut)) }
        HTTPClient.connect(loop: loop, address: parsed.address) { connected in
            switch connected {
            case .failure(let error):
                finish(.failure(.connectFailed("\(error)")))
            case .success(let connection):
                client = connection
                guard !finished else { return connection.close() }
                var all = headers
                all.add("Host", parsed.host)
                all.add("Connection", "close")
                connection.send(method: "POST", path: parsed.target, headers: all, body: body) { response in
                    switch response {
                    case .success(let response): finish(.success(response.status))
                    case .failure(let error): finish(.failure(.connectionFailed("\(error)")))
                    }
                }
            }
        }
    }
}

@available(*, unavailable)
extension PlainHTTPWebhookTransport: Sendable {}
