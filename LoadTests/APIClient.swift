import EventLoop
import HTTP
import JSON

/// A REST response reduced to what scenarios check: the status and the parsed body (nil if it was
/// not JSON).
struct APIResponse {
    let status: Int
    let body: JSONValue?

    var isSuccess: Bool { (200..<300).contains(status) }
    /// `error.code` of an error body, or the status when the body has none.
    var errorKind: String { body?["error"]?["code"]?.string ?? "http \(status)" }
}

/// A small pool of keep-alive connections to the REST sidecar. Requests are pipelined on the
/// connection with the fewest outstanding requests: simulated devices do not each need a socket, and
/// a few dozen connections keep thousands of devices' requests flowing without exhausting ports.
final class APIClient {
    private let run: LoadRun
    private let endpoint: Endpoint
    private let source: SocketAddress?
    private var clients: [HTTPClient?]
    private var reconnecting: [Bool]
    private var waiting: [(HTTPClient) -> Void] = []
    private(set) var inFlight = 0
    /// Set during chaos runs: once started, a connection that cannot be reopened (the api was killed)
    /// is tried again later instead of failing the run; requests wait for it.
    var retries: RetryQueue?
    private var started = false

    init(run: LoadRun, endpoint: Endpoint, connections: Int, source: SocketAddress? = nil) {
        self.run = run
        self.endpoint = endpoint
        self.source = source
        clients = Array(repeating: nil, count: connections)
        reconnecting = Array(repeating: false, count: connections)
    }

    /// Opens every connection and checks `GET /healthz`; `ready` runs once all are up. An unreachable
    /// or unhealthy sidecar fails the run with one message.
    func start(_ ready: @escaping () -> Void) {
        var remaining = clients.count
        for index in clients.indices {
            open(index) { [unowned self] ok in
                guard ok else { return }
                remaining -= 1
                guard remaining == 0 else { return }
                self.started = true
                self.get("/healthz") { response in
                    guard let response, response.status == 200 else {
                        self.run.fail("the api at \(self.endpoint.url) is not healthy: GET /healthz answered \(response.map { String($0.status) } ?? "nothing")")
                        return
                    }
                    ready()
                }
            }
        }
    }

    private func open(_ index: Int, _ done: @escaping (Bool) -> Void) {
        reconnecting[index] = true
        HTTPClient.connect(loop: run.loop, address: endpoint.address, source: source) { [unowned self] result in
            self.reconnecting[index] = false
            if case .failure = result, self.started, let retries = self.retries {
                self.reconnecting[index] = true
                retries.after(ms: 250) { self.open(index, done) }
                return
            }
            switch result {
            case .success(let client):
                self.clients[index] = client
                let waiting = self.waiting
                self.waiting = []
                for send in waiting { self.dispatch(send) }
                done(true)
            case .failure(.connectFailed(let error)):
                if !self.run.failIfResourceExhausted(error, target: "the api at \(self.endpoint.url)") {
                    self.run.fail("cannot connect to the api at \(self.endpoint.url): \(error)")
                }
                done(false)
            case .failure(let error):
                self.run.fail("cannot connect to the api at \(self.endpoint.url): \(error)")
                done(false)
            }
        }
    }

    /// Picks the open connection with the fewest outstanding requests; a closed one is reopened in
    /// the background (the server may close idle keep-alive connections).
    private func dispatch(_ send: @escaping (HTTPClient) -> Void) {
        var best: HTTPClient?
        for index in clients.indices {
            guard let client = clients[index] else { continue }
            if !client.isOpen {
                clients[index] = nil
                if !reconnecting[index] { open(index) { _ in } }
                continue
            }
            if let current = best, current.pendingCount <= client.pendingCount { continue }
            best = client
        }
        if let best { send(best) } else { waiting.append(send) }
    }

    func post(_ path: String, token: String?, body: [UInt8], _ completion: @escaping (APIResponse?) -> Void) {
        request("POST", path, token: token, body: body, completion)
    }

    func patch(_ path: String, token: String?, body: [UInt8], _ completion: @escaping (APIResponse?) -> Void) {
        request("PATCH", path, token: token, body: body, completion)
    }

    func get(_ path: String, token: String? = nil, _ completion: @escaping (APIResponse?) -> Void) {
        request("GET", path, token: token, body: [], completion)
    }

    /// `completion` gets nil when the connection failed before a response (counted by the caller).
    private func request(_ method: String, _ path: String, token: String?, body: [UInt8],
                         _ completion: @escaping (APIResponse?) -> Void) {
        var headers = HTTPHeaders()
        if !body.isEmpty { headers.add("Content-Type", "application/json") }
        if let token { headers.add("Authorization", "Bearer " + token) }
        let fullPath = endpoint.path + path
        inFlight += 1
        dispatch { [unowned self] client in
            client.send(method: method, path: fullPath, headers: headers, body: body) { result in
                self.inFlight -= 1
                switch result {
                case .success(let response):
                    completion(APIResponse(status: response.status, body: try? JSON.parse(response.body)))
                case .failure:
                    completion(nil)
                }
            }
        }
    }

    func close() -> Int {
        var count = 0
        for client in clients { if let client, client.isOpen { client.close(); count += 1 } }
        clients = clients.map { _ in nil }
        return count
    }
}

@available(*, unavailable)
extension APIClient: Sendable {}
