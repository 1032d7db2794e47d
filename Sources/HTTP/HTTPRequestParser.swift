/// An incremental HTTP/1.1 request parser over borrowed bytes.
///
/// Feed it whatever arrived; it consumes up to the end of one complete request and stops there, so
/// pipelined requests come out one at a time and the caller keeps the unconsumed rest (the server does
/// not parse the next request until the current one is answered). Input may be split at any byte.
///
/// Memory: nothing is allocated while idle. A head split across reads is copied into a buffer that is
/// freed when the head completes; a head that arrives whole is parsed in place. A body is buffered
/// once, after its size was checked against the limit.
///
/// Leniency, chosen and tested: a lone LF ends a line like CRLF; a missing Host on HTTP/1.1 is
/// accepted (more than one Host is not); empty lines before the request line are skipped. Everything
/// else that RFC 9112 lets a server reject is rejected: obs-fold, whitespace before a colon, bare CR,
/// Content-Length with Transfer-Encoding, Transfer-Encoding on HTTP/1.0, codings other than chunked.
/// After an error the parser keeps failing with the same error; the connection must be closed.
public struct HTTPRequestParser {
    public let limits: HTTPLimits

    private var core = MessageParserCore<HTTPRequest>()

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Whether some bytes of a request have been consumed but the request is not complete yet (the
    /// server's slow-request clock runs while this is true).
    public var hasPartialRequest: Bool { core.hasPartialMessage }

    /// True once per request whose head asked `Expect: 100-continue`, was accepted (limits included),
    /// and whose body is still to come: the server then sends `100 Continue` so the client sends it.
    mutating func takeContinueRequest() -> Bool { core.takeContinueRequest() }

    /// Consumes bytes up to the end of the next complete request. Returns how many bytes were consumed
    /// and the request if one completed; with a nil request, all of `input` was consumed.
    public mutating func parse(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (consumed: Int, request: HTTPRequest?) {
        let (consumed, request) = try core.parse(input, limits: limits, plan: Self.bodyPlan)
        return (consumed, request)
    }

    /// RFC 9112 §6: a request without Content-Length or Transfer-Encoding has no body; Transfer-Encoding
    /// must be exactly "chunked" and must not come with Content-Length or on HTTP/1.0.
    static func bodyPlan(for request: HTTPRequest) throws(HTTPParseError) -> BodyPlan {
        let framing = try BodyFraming(request.headers)
        if framing.hasTransferEncoding {
            if framing.contentLength != nil { throw .contentLengthWithTransferEncoding }
            if request.version == .http1_0 { throw .transferEncodingInHTTP10 }
            if framing.hasOtherCoding { throw .unsupportedTransferEncoding }
            if framing.chunkedCount != 1 { throw .badTransferEncoding }
            return .chunked
        }
        if let length = framing.contentLength, length > 0 { return .fixed(length) }
        return .none
    }

    /// Builds a request from a complete head: request line, fields, target decoding, Host rule.
    static func makeRequest(head: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPRequest {
        let (lineRange, headers) = try MessageHead.parse(head)
        let line = UnsafeRawBufferPointer(rebasing: head[lineRange])

        guard let methodEnd = line.firstIndex(of: ASCII.space), methodEnd > 0 else { throw .badRequestLine }
        for b in line[..<methodEnd] where !ASCII.isTokenChar(b) { throw .badRequestLine }
        let targetStart = methodEnd + 1
        guard let targetEnd = line[targetStart...].firstIndex(of: ASCII.space), targetEnd > targetStart
        else { throw .badRequestLine }
        let targetBytes = UnsafeRawBufferPointer(rebasing: line[targetStart..<targetEnd])
        for b in targetBytes where !ASCII.isVisible(b) { throw .badRequestLine }
        let version = try parseVersion(UnsafeRawBufferPointer(rebasing: line[(targetEnd + 1)...]))

        if headers.values(for: "host").count > 1 { throw .duplicateHost }
        let (path, query) = try PercentDecoding.parseTarget(targetBytes)
        return HTTPRequest(method: String(decoding: UnsafeRawBufferPointer(rebasing: line[..<methodEnd]), as: UTF8.self),
                           target: String(decoding: targetBytes, as: UTF8.self),
                           path: path, queryItems: query, version: version, headers: headers, body: [])
    }

    /// "HTTP/1.1" or "HTTP/1.0"; another "HTTP/d.d" is unsupported (505), anything else malformed.
    static func parseVersion(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPVersion {
        guard bytes.count == 8, bytes.starts(with: "HTTP/".utf8),
              ASCII.isDigit(bytes[5]), bytes[6] == UInt8(ascii: "."), ASCII.isDigit(bytes[7])
        else { throw .badRequestLine }
        guard bytes[5] == UInt8(ascii: "1") else { throw .unsupportedVersion }
        switch bytes[7] {
        case UInt8(ascii: "1"): return .http1_1
        case UInt8(ascii: "0"): return .http1_0
        default: throw .unsupportedVersion
        }
    }
}

extension HTTPRequest: ParsableHTTPMessage {
    static var headHasTarget: Bool { true }

    static func parseHead(_ head: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPRequest {
        try HTTPRequestParser.makeRequest(head: head)
    }

    var expectsContinue: Bool {
        version == .http1_1 && headers.containsToken("100-continue", for: "expect")
    }
}
