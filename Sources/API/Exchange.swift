import EventLoop
import HTTP

/// One request on its way to a response: the request, the responder, and the moment it was
/// dispatched, so the response is timed and counted by status class wherever it is sent from.
final class Exchange {
    let request: HTTPRequest
    private let responder: HTTPResponder
    private let metrics: APIMetrics
    private let startNs: UInt64
    private var answered = false

    init(request: HTTPRequest, responder: HTTPResponder, metrics: APIMetrics) {
        self.request = request
        self.responder = responder
        self.metrics = metrics
        startNs = EventLoop.monotonicNs()
        metrics.inFlight += 1
    }

    /// The client's IP address, for rate limits and the audit trail ("" if the socket had none).
    var clientAddress: String { responder.peerAddress?.host ?? "" }

    func send(_ response: HTTPResponse) {
        guard !answered else { return }
        answered = true
        metrics.inFlight -= 1
        metrics.record(status: response.status, latencyNs: EventLoop.monotonicNs() &- startNs)
        responder.send(response)
    }

    func fail(_ error: APIError) { send(error.response) }

    /// A JSON response; API data is personal, so nothing on the way may cache it.
    func json(_ status: Int, _ body: [UInt8]) {
        var response = HTTPResponse.json(status, body)
        response.headers.add("Cache-Control", "no-store")
        send(response)
    }
}

@available(*, unavailable)
extension Exchange: Sendable {}
