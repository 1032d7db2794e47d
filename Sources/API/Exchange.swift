import Attendance
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
    /// The client's IP address, for failure limits, network rules and the audit trail ("" if the
    /// socket had none): the TCP peer, or what a trusted proxy forwarded (`ForwardedFor`).
    let clientAddress: String

    init(request: HTTPRequest, responder: HTTPResponder, metrics: APIMetrics, trustedProxies: [CIDR]) {
        self.request = request
        self.responder = responder
        self.metrics = metrics
        clientAddress = ForwardedFor.clientAddress(peer: responder.peerAddress?.host ?? "",
                                                   headerValues: request.headers.values(for: "X-Forwarded-For"),
                                                   trusted: trustedProxies)
        startNs = EventLoop.monotonicNs()
        metrics.inFlight += 1
    }

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
