/// One complete request, as the parser produced it.
public struct HTTPRequest: Sendable {
    /// The method token, case-sensitive as sent ("GET", "POST", …).
    public var method: String
    /// The request-target exactly as sent: "/v1/classes/c%201?format=csv".
    public var target: String
    /// The target's path, percent-decoded ("/v1/classes/c 1"). Routing splits `target` instead, so an
    /// encoded "/" (%2F) stays inside its segment.
    public var path: String
    /// The query's items in order, percent-decoded, with "+" read as a space; "flag" alone gives "".
    public var queryItems: [(name: String, value: String)]
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]

    /// Builds a request from its parts, decoding `target` the way the parser does (for tests and for
    /// code that synthesizes requests).
    public init(method: String, target: String, version: HTTPVersion = .http1_1,
                headers: HTTPHeaders = [], body: [UInt8] = []) throws(HTTPParseError) {
        var copy = target
        let parsed = copy.withUTF8 { bytes in
            Result { () throws(HTTPParseError) in try PercentDecoding.parseTarget(UnsafeRawBufferPointer(bytes)) }
        }
        let (path, query) = try parsed.get()
        self.init(method: method, target: target, path: path, queryItems: query, version: version,
                  headers: headers, body: body)
    }

    init(method: String, target: String, path: String, queryItems: [(name: String, value: String)],
         version: HTTPVersion, headers: HTTPHeaders, body: [UInt8]) {
        self.method = method
        self.target = target
        self.path = path
        self.queryItems = queryItems
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The first value of query item `name`, or nil.
    public func query(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// Every value of header `name` (case-insensitive), in order.
    public func headerValues(_ name: String) -> [String] { headers.values(for: name) }

    /// Whether the connection may carry another request after this one: HTTP/1.1 unless
    /// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool {
        switch version {
        case .http1_1: return !headers.containsToken("close", for: "connection")
        case .http1_0: return headers.containsToken("keep-alive", for: "connection")
        }
    }

    /// Whether this asks to switch to `protocolName` (`Connection: upgrade` and the protocol listed in
    /// `Upgrade`, compared case-insensitively, ignoring a "/version" suffix).
    public func isUpgrade(to protocolName: String) -> Bool {
        guard headers.containsToken("upgrade", for: "connection") else { return false }
        for value in headers.values(for: "upgrade") {
            for element in value.utf8.split(separator: ASCII.comma) {
                let product = ASCII.trimmingWhitespace(element)
                let name = product.split(separator: ASCII.slash, maxSplits: 1, omittingEmptySubsequences: false).first ?? product
                if ASCII.equalsIgnoringCase(name, protocolName.utf8) { return true }
            }
        }
        return false
    }

    /// The target up to "?", still percent-encoded (what the router splits into segments).
    var rawPath: Substring {
        target.firstIndex(of: "?").map { target[..<$0] } ?? target[...]
    }
}
