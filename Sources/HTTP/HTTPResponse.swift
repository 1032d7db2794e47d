/// A response a handler builds and hands to `HTTPResponder.send`. Framing headers are the server's:
/// `serialize()` writes Content-Length itself (any Content-Length or Transfer-Encoding in `headers` is
/// dropped) and `Connection: close` when `keepAlive` is false.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Set to false to close the connection after this response. The server also clears it when the
    /// request asked to close, or when the server is shutting down.
    public var keepAlive: Bool

    public init(status: Int = 200, headers: HTTPHeaders = [], body: [UInt8] = [], keepAlive: Bool = true) {
        precondition((100...999).contains(status), "HTTP status must have three digits")
        self.status = status
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
    }

    /// `application/json` with the given body bytes.
    public static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    /// `text/plain; charset=utf-8`.
    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// The error shape of PROTOCOL.md: `{"error":{"code":"…","message":"…"}}`.
    public static func error(_ status: Int, code: String, message: String) -> HTTPResponse {
        var body: [UInt8] = []
        body.reserveCapacity(40 + code.utf8.count + message.utf8.count)
        body.append(contentsOf: #"{"error":{"code":"#.utf8)
        JSONEscaping.appendString(code, to: &body)
        body.append(contentsOf: #","message":"#.utf8)
        JSONEscaping.appendString(message, to: &body)
        body.append(contentsOf: "}}".utf8)
        return json(status, body)
    }

    /// The response for a request that failed to parse; the connection closes after it.
    public init(_ error: HTTPParseError) {
        self = .error(error.status, code: error.code, message: error.message)
        keepAlive = false
    }

    /// This response with one more header, for chaining: `.error(429, …).adding("Retry-After", "5")`.
    public func adding(_ name: String, _ value: String) -> HTTPResponse {
        var copy = self
        copy.headers.add(name, value)
        return copy
    }

    /// Status line, headers (plus Content-Length, plus `Connection: close` unless keep-alive), blank
    /// line and body, as one buffer.
    public func serialize() -> [UInt8] { serialize(includeBody: true) }

    /// `includeBody: false` answers HEAD: same headers, Content-Length of the body it would have had.
    func serialize(includeBody: Bool) -> [UInt8] {
        // 1xx, 204 and 304 never carry a body or a Content-Length (RFC 9110 §8.6).
        let hasBody = status >= 200 && status != 204 && status != 304
        var out: [UInt8] = []
        out.reserveCapacity(128 + headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
                            + (includeBody ? body.count : 0))
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(ASCII.space)
        out.append(contentsOf: Self.reasonPhrase(for: status).utf8)
        out.append(contentsOf: "\r\n".utf8)
        for field in headers {
            if ASCII.equalsIgnoringCase(field.name, "content-length")
                || ASCII.equalsIgnoringCase(field.name, "transfer-encoding")
                || (!keepAlive && ASCII.equalsIgnoringCase(field.name, "connection")) {
                continue
            }
            // A name that is not a token would corrupt the head; it is a handler bug, dropped here.
            guard !field.name.isEmpty, field.name.utf8.allSatisfy(ASCII.isTokenChar) else { continue }
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            // Control bytes in a value (CR, LF above all) would let a value split the response.
            for b in field.value.utf8 { out.append(ASCII.isFieldValueChar(b) ? b : ASCII.space) }
            out.append(contentsOf: "\r\n".utf8)
        }
        if hasBody {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.append(contentsOf: String(body.count).utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive { out.append(contentsOf: "Connection: close\r\n".utf8) }
        out.append(contentsOf: "\r\n".utf8)
        if hasBody && includeBody { out.append(contentsOf: body) }
        return out
    }
}
