/// Routes requests by method and path pattern. A pattern is "/"-separated segments; a segment written
/// `{name}` binds that (percent-decoded, non-empty) path segment, every other segment is literal, colon
/// and all (`/v1/classes/{id}/attendance:bulk`). Use `router.handle` as an HTTPServer handler.
///
/// When several patterns match, the one with a literal segment where another has a parameter (leftmost
/// difference first) wins; among equals, the first registered. HEAD is served by GET routes. A path no
/// pattern matches gets 404; a path matched only by other methods gets 405 with `Allow`.
public final class Router {
    public typealias Handler = (_ request: HTTPRequest, _ parameters: [String: String], _ responder: HTTPResponder) -> Void

    enum Segment: Equatable {
        case literal(String)
        case parameter(String)
    }

    private struct Route {
        let method: String
        let segments: [Segment]
        let handler: Handler
    }

    private var routes: [Route] = []

    public init() {}

    /// Registers `handler` for `method` (e.g. "GET") and `pattern` (must start with "/").
    public func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        precondition(pattern.hasPrefix("/"), "route pattern must start with /")
        let segments = pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map { piece -> Segment in
            if piece.count > 2 && piece.hasPrefix("{") && piece.hasSuffix("}") {
                return .parameter(String(piece.dropFirst().dropLast()))
            }
            return .literal(String(piece))
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
    }

    /// The route's outcome for a request, without running any handler.
    enum Match {
        case found(Handler, [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    func match(method: String, rawPath: Substring) -> Match {
        guard let segments = PercentDecoding.pathSegments(rawPath) else { return .notFound }
        var best: (route: Route, parameters: [String: String])?
        var getFallback: (route: Route, parameters: [String: String])?
        var allowed: Set<String> = []
        for route in routes {
            guard let parameters = Self.bind(route.segments, to: segments) else { continue }
            allowed.insert(route.method)
            if route.method == method {
                if best.map({ Self.isMoreSpecific(route.segments, than: $0.route.segments) }) ?? true {
                    best = (route, parameters)
                }
            } else if method == "HEAD" && route.method == "GET" {
                if getFallback.map({ Self.isMoreSpecific(route.segments, than: $0.route.segments) }) ?? true {
                    getFallback = (route, parameters)
                }
            }
        }
        if let found = best ?? getFallback { return .found(found.route.handler, found.parameters) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.insert("HEAD") }
        return .methodNotAllowed(allowed: allowed.sorted())
    }

    /// Dispatches to the matching handler, or answers 404/405 with the error JSON.
    public func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch match(method: request.method, rawPath: request.rawPath) {
        case .found(let handler, let parameters):
            handler(request, parameters, responder)
        case .notFound:
            responder.send(.error(404, code: "not_found", message: "no such resource"))
        case .methodNotAllowed(let allowed):
            let list = allowed.joined(separator: ", ")
            responder.send(.error(405, code: "bad_request", message: "method not allowed; allowed: \(list)")
                .adding("Allow", list))
        }
    }

    private static func bind(_ pattern: [Segment], to path: [String]) -> [String: String]? {
        guard pattern.count == path.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, value) in zip(pattern, path) {
            switch segment {
            case .literal(let literal):
                guard literal == value else { return nil }
            case .parameter(let name):
                guard !value.isEmpty else { return nil }
                parameters[name] = value
            }
        }
        return parameters
    }

    private static func isMoreSpecific(_ a: [Segment], than b: [Segment]) -> Bool {
        for (x, y) in zip(a, b) {
            switch (x, y) {
            case (.literal, .parameter): return true
            case (.parameter, .literal): return false
            default: continue
            }
        }
        return false
    }
}

@available(*, unavailable)
extension Router: Sendable {}
