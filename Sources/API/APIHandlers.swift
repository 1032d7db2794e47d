import Attendance
import HTTP
import Logging
import RedisClient

/// The REST sidecar's request handling: routes, authentication, and one handler per endpoint (in
/// the `APIHandlers+…` files, one per resource). Bound to the loop of its store.
final class APIHandlers {
    let store: ClassStore
    let configuration: APIConfiguration
    let metrics: APIMetrics
    let authentication: Authentication
    let logger: Logger
    /// Base of links and QR URLs (`APIConfiguration.publicBase`), known once the server is bound.
    let publicBase: String
    /// The web pages' files, read once at start.
    let pages: PageAssets
    private let router = Router()
    /// The school's identity provider, when `oidc.issuer` is configured.
    let oidc: OIDCRelyingParty?

    init(store: ClassStore, configuration: APIConfiguration, metrics: APIMetrics, publicBase: String,
         clock: @escaping () -> Int64, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.metrics = metrics
        self.publicBase = publicBase
        self.logger = logger
        authentication = Authentication(signer: configuration.signer, clock: clock)
        pages = PageAssets.load(hubURL: configuration.hubURL)
        oidc = configuration.oidc.map { settings in
            // The command line has checked that the CA file loads; nil here leaves https calls failing clearly.
            let tls = TLSClientContext(caFile: settings.caFile)
            if tls == nil { logger.error("the TLS client context could not be made; the identity provider is unreachable") }
            return OIDCRelyingParty(settings: settings, http: OutboundHTTPClient(loop: store.redis.loop, tls: tls), clock: clock, logger: logger)
        }
        registerRoutes()
    }

    private func registerRoutes() {
        route("POST", "/v1/classes") { exchange, _ in self.createClass(exchange) }
        route("GET", "/v1/classes") { exchange, _ in self.listClasses(exchange) }
        route("POST", "/v1/auth/login") { exchange, _ in self.login(exchange) }
        route("POST", "/v1/auth/refresh") { exchange, _ in self.refresh(exchange) }
        route("POST", "/v1/auth/logout") { exchange, _ in self.logout(exchange) }
        route("GET", "/v1/auth/methods") { exchange, _ in self.authMethods(exchange) }
        route("GET", "/v1/auth/oidc/start") { exchange, _ in self.oidcStart(exchange) }
        route("GET", "/v1/auth/oidc/callback") { exchange, _ in self.oidcCallback(exchange) }
        route("GET", "/v1/classes/{id}") { self.classInfo($0, classId: $1["id"] ?? "") }
        route("PATCH", "/v1/classes/{id}") { self.updateClass($0, classId: $1["id"] ?? "") }
        route("GET", "/v1/classes/{id}/qr") { self.currentQR($0, classId: $1["id"] ?? "") }
        route("POST", "/v1/join") { exchange, _ in self.join(exchange) }
        route("POST", "/v1/receipts") { exchange, _ in self.issueReceipt(exchange) }
        route("POST", "/v1/classes/{id}/checkins") { self.checkin($0, classId: $1["id"] ?? "") }
        route("GET", "/v1/classes/{id}/links") { self.personalLinks($0, classId: $1["id"] ?? "") }
        route("GET", "/v1/classes/{id}/attendance") { self.attendance($0, classId: $1["id"] ?? "") }
        route("PATCH", "/v1/classes/{id}/attendance/{student_id}") {
            self.override($0, classId: $1["id"] ?? "", studentId: $1["student_id"] ?? "")
        }
        route("POST", "/v1/classes/{id}/attendance:bulk") { self.bulk($0, classId: $1["id"] ?? "") }
        route("POST", "/v1/classes/{id}/students/{student_id}/device:reset") {
            self.resetDevice($0, classId: $1["id"] ?? "", studentId: $1["student_id"] ?? "")
        }
        route("POST", "/v1/classes/{id}/students/{action}") {
            self.answerEnrolment($0, classId: $1["id"] ?? "", segment: $1["action"] ?? "")
        }
        route("GET", "/v1/classes/{id}/pending") { self.pendingEnrolments($0, classId: $1["id"] ?? "") }
        route("POST", "/v1/classes/{id}/close") { self.close($0, classId: $1["id"] ?? "") }
        route("GET", "/v1/classes/{id}/events") { self.events($0, classId: $1["id"] ?? "") }
        route("GET", "/healthz") { exchange, _ in self.health(exchange) }
        route("GET", "/metrics") { exchange, _ in self.metricsText(exchange) }
        route("GET", "/") { exchange, _ in self.teacherPage(exchange) }
        route("GET", "/j/{token}") { exchange, _ in self.studentPage(exchange) }
        route("GET", "/checkin") { exchange, _ in self.studentPage(exchange) }
        route("GET", "/c") { exchange, _ in self.studentPage(exchange) }
        route("GET", "/assets/{name}") { self.pageAsset($0, name: $1["name"] ?? "") }
        route("GET", "/sw.js") { exchange, _ in self.serviceWorker(exchange) }
        registerSchoolRoutes()
    }

    /// Set by a route's wrapper, so `handle` knows whether the router answered by itself (404/405).
    private var dispatched = false

    func route(_ method: String, _ pattern: String, _ handler: @escaping (Exchange, [String: String]) -> Void) {
        router.add(method, pattern) { [unowned self] request, parameters, responder in
            dispatched = true
            handler(Exchange(request: request, responder: responder, metrics: metrics,
                             trustedProxies: configuration.trustedProxies), parameters)
        }
    }

    /// The HTTPServer handler.
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        dispatched = false
        router.handle(request, responder)
        // The router dispatches synchronously; when no route ran it has already sent 404 or 405.
        if !dispatched { metrics.record(status: 404, latencyNs: 0) }
    }

    // MARK: - Shared steps

    /// The authenticated caller, or nil after answering 401.
    func authenticate(_ exchange: Exchange) -> Actor? {
        switch authentication.actor(for: exchange.request) {
        case .success(let actor):
            return actor
        case .failure(let error):
            exchange.fail(error)
            return nil
        }
    }

    /// The body as a JSON object limited to `fields`, or nil after answering 400.
    func body(_ exchange: Exchange, fields: Set<String>) -> JSONBody? {
        do {
            let body = try JSONBody(exchange.request.body)
            try body.allowOnly(fields)
            return body
        } catch {
            exchange.fail(error)
            return nil
        }
    }

    /// Answers with `encode`'s JSON on success, the error shape otherwise.
    func reply<T>(_ exchange: Exchange, status: Int = 200, _ result: Result<T, AttendanceError>,
                  _ encode: (T) -> [UInt8]) {
        switch result {
        case .success(let value): exchange.json(status, encode(value))
        case .failure(let error):
            if error.retryAfterS != nil { metrics.rateLimited += 1 }
            exchange.fail(APIError(error))
        }
    }

    /// The `format` query item among `allowed` (the first is the default), or nil after answering 400.
    func format(_ exchange: Exchange, allowed: [String]) -> String? {
        guard let format = exchange.request.query("format") else { return allowed.first }
        guard allowed.contains(format) else {
            exchange.fail(.badRequest("format must be one of \(allowed.joined(separator: ", "))"))
            return nil
        }
        return format
    }
}

@available(*, unavailable)
extension APIHandlers: Sendable {}
