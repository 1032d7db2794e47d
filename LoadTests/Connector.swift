import EventLoop
import HTTP
import WebSocket

/// Opens hub WebSocket connections for simulated clients: at most `maxInFlight` connects and
/// handshakes at a time (a burst of thousands of SYNs would overflow the hub's accept backlog and
/// turn into one-second SYN retries), spread round-robin over the source addresses.
final class Connector {
    private let run: LoadRun
    private let endpoint: Endpoint
    private let maxInFlight: Int
    private var inFlight = 0
    private var queue: [(token: String, quiet: Bool, completion: (WebSocketClient?) -> Void)] = []
    private var queueHead = 0
    private var nextSource = 0
    /// Handshakes completed so far.
    private(set) var opened = 0

    init(run: LoadRun) {
        self.run = run
        endpoint = run.settings.hub
        maxInFlight = run.settings.connectConcurrency
    }

    /// Connects with `token` in the query; `completion` gets the open client, or nil after the
    /// failure was counted (or the run failed for want of descriptors or ports). A `quiet` connect
    /// is a reconnect during a fault: the caller retries, so a refusal is neither counted nor fatal.
    func connect(token: String, quiet: Bool = false, _ completion: @escaping (WebSocketClient?) -> Void) {
        queue.append((token, quiet, completion))
        pump()
    }

    private func pump() {
        while inFlight < maxInFlight && queueHead < queue.count && run.fatal == nil {
            let (token, quiet, completion) = queue[queueHead]
            queueHead += 1
            if queueHead == queue.count {
                queue.removeAll(keepingCapacity: true)
                queueHead = 0
            }
            inFlight += 1
            start(token: token, quiet: quiet, completion)
        }
    }

    private func start(token: String, quiet: Bool, _ completion: @escaping (WebSocketClient?) -> Void) {
        let sources = run.settings.sources
        var source: SocketAddress?
        if !sources.isEmpty {
            source = sources[nextSource % sources.count]
            nextSource += 1
        }
        WebSocketClient.connect(loop: run.loop, address: endpoint.address, host: endpoint.hostHeader,
                                path: endpoint.path + "?access_token=" + token, source: source) { [unowned self] result in
            self.inFlight -= 1
            switch result {
            case .success(let client):
                self.opened += 1
                completion(client)
            case .failure(.connectFailed(let error)) where quiet && error != .tooManyOpenFiles && error != .addressNotAvailable:
                completion(nil)
            case .failure where quiet:
                completion(nil)
            case .failure(.connectFailed(let error)):
                if !self.run.failIfResourceExhausted(error, target: "the hub at \(self.endpoint.url)") {
                    self.run.errors.add("ws connect: \(error.name)")
                }
                completion(nil)
            case .failure(.handshakeFailed(let why)):
                self.run.errors.add("ws handshake: \(why.prefix(60))")
                completion(nil)
            case .failure(.closedDuringHandshake):
                self.run.errors.add("ws closed during handshake")
                completion(nil)
            }
            self.pump()
        }
    }
}

@available(*, unavailable)
extension Connector: Sendable {}

/// `GET /healthz` on the hub's HTTP address before anything else, so an unreachable or unhealthy hub
/// fails the run at once with one message instead of thousands of connect errors.
func checkHubHealth(run: LoadRun, _ ready: @escaping () -> Void) {
    let endpoint = run.settings.hub
    HTTPClient.connect(loop: run.loop, address: endpoint.address) { result in
        switch result {
        case .failure(.connectFailed(let error)):
            if error == .connectionRefused {
                run.fail("cannot reach the hub at \(endpoint.url): connection refused (is it running?)")
            } else if !run.failIfResourceExhausted(error, target: "the hub") {
                run.fail("cannot reach the hub at \(endpoint.url): \(error)")
            }
        case .failure(let error):
            run.fail("cannot reach the hub at \(endpoint.url): \(error)")
        case .success(let client):
            client.send(method: "GET", path: "/healthz") { response in
                client.close()
                switch response {
                case .success(let response) where response.status == 200:
                    ready()
                case .success(let response):
                    run.fail("the hub at \(endpoint.url) is not healthy: GET /healthz answered \(response.status) \(response.bodyText.prefix(100))")
                case .failure(let error):
                    run.fail("the hub at \(endpoint.url) did not answer GET /healthz: \(error)")
                }
            }
        }
    }
}
