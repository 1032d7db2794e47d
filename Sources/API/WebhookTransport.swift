import EventLoop
import HTTP

/// Why a webhook request got no HTTP status.
public enum WebhookTransportError: Error, Equatable, CustomStringConvertible {
    /// Not a URL webhooks may be sent to (`OutboundWebhookTransport.validate`).
    case invalidURL(String)
    /// No whole response within the request's timeout.
    case timedOut
    /// Name resolution, connect, TLS or the response failed.
    case failed(OutboundHTTPError)

    public var description: String {
        switch self {
        case .invalidURL(let detail): "invalid webhook URL: \(detail)"
        case .timedOut: "no response within the timeout"
        case .failed(let error): error.description
        }
    }
}

/// All webhook delivery needs from HTTP: one POST.
public protocol WebhookTransport: AnyObject {
    /// POSTs `body` to `url` with `headers`; completes once, on the loop, with the response status
    /// or why there is none (at the latest after `timeoutMs`).
    func post(url: String, headers: HTTPHeaders, body: [UInt8], timeoutMs: UInt64,
              completion: @escaping (Result<Int, WebhookTransportError>) -> Void)
}

/// Webhooks over the outbound HTTP client: `https://` to any host, the certificate verified against
/// the trust store of `tls` and the URL's host name; plain `http://` only to loopback receivers.
public final class OutboundWebhookTransport: WebhookTransport {
    let client: OutboundHTTPClient

    public init(loop: EventLoop, tls: TLSClientContext) {
        client = OutboundHTTPClient(loop: loop, tls: tls)
    }

    /// The parsed URL, or why webhooks cannot go there (checked when the api starts, and again per
    /// request: a queued job may name a URL another api was configured with).
    public static func validate(_ url: String) -> Result<OutboundURL, WebhookTransportError> {
        let shown = String(url.prefix(100))
        guard let parsed = OutboundURL(url) else {
            return .failure(.invalidURL("\(shown) is not an absolute https:// URL (no user info, no fragment)"))
        }
        guard parsed.isHTTPS || parsed.isLoopback else {
            return .failure(.invalidURL("\(shown): plain http is allowed only to a loopback host; use https://"))
        }
        return .success(parsed)
    }

    public func post(url: String, headers: HTTPHeaders, body: [UInt8], timeoutMs: UInt64,
                     completion: @escaping (Result<Int, WebhookTransportError>) -> Void) {
        let target: OutboundURL
        switch Self.validate(url) {
        case .failure(let error): return completion(.failure(error))
        case .success(let parsed): target = parsed
        }
        // No phase may take longer than the whole request; the timer below bounds their sum.
        client.connectTimeoutMs = timeoutMs
        client.readTimeoutMs = timeoutMs
        var finished = false
        var request: OutboundHTTPRequest?
        let timer = LoopTimer(loop: client.loop)
        let finish = { (result: Result<Int, WebhookTransportError>) in
            guard !finished else { return }
            finished = true
            timer.close()
            request?.cancel()
            completion(result)
        }
        timer.start(timeoutMs: timeoutMs) { finish(.failure(.timedOut)) }
        request = client.send(method: "POST", url: target, headers: headers, body: body) { result in
            switch result {
            case .success(let response): finish(.success(response.status))
            case .failure(.timedOut): finish(.failure(.timedOut))
            case .failure(let error): finish(.failure(.failed(error)))
            }
        }
    }
}

@available(*, unavailable)
extension OutboundWebhookTransport: Sendable {}
