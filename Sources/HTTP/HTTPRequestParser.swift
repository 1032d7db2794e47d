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

    static let initialBodyCapacity = 64 * 1024

    private enum Phase {
        case head
        case fixedBody(HTTPRequest, remaining: Int)
        case chunkedBody(HTTPRequest)
        case failed(HTTPParseError)
    }

    private var phase = Phase.head
    private var scanner = MessageHeadScanner(measuresTarget: true)
    private var headBuffer: [UInt8] = []
    private var body: [UInt8] = []
    private var chunked = ChunkedDecoder()
    /// Set when a head with `Expect: 100-continue` was accepted and its body has not arrived yet.
    private var continueRequested = false

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Whether some bytes of a request have been consumed but the request is not complete yet (the
    /// server's slow-request clock runs while this is true).
    public var hasPartialRequest: Bool {
        if case .head = phase { return scanner.byteCount > 0 }
        return true
    }

    /// True once per request whose head asked `Expect: 100-continue`, was accepted (limits included),
    /// and whose body is still to come: the server then sends `100 Continue` so the client sends it.
    mutating func takeContinueRequest() -> Bool {
        defer { continueRequested = false }
        return continueRequested
    }

    /// Consumes bytes up to the end of the next complete request. Returns how many bytes were consumed
    /// and the request if one completed; with a nil request, all of `input` was consumed.
    public mutating func parse(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (consumed: Int, request: HTTPRequest?) {
        do {
            return try step(input)
        } catch {
            phase = .failed(error)
            headBuffer = []
            body = []
            throw error
        }
    }

    private mutating func step(_ input: UnsafeRawBufferPointer) throws(HTTPParseError) -> (consumed: Int, request: HTTPRequest?) {
        var i = 0
        while true {
            switch phase {
            case .failed(let error):
                throw error

            case .head:
                guard i < input.count else { return (i, nil) }
                let start = i
                guard let end = try scanner.scan(input, from: start, limits: limits) else {
                    headBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start...]))
                    return (input.count, nil)
                }
                i = end
                let head = UnsafeRawBufferPointer(rebasing: input[start..<end])
                let request: HTTPRequest
                if headBuffer.isEmpty {
                    request = try Self.makeRequest(head: head)
                } else {
                    headBuffer.append(contentsOf: head)
                    let result = headBuffer.withUnsafeBytes { bytes in
                        Result { () throws(HTTPParseError) in try Self.makeRequest(head: bytes) }
                    }
                    headBuffer = []
                    request = try result.get()
                }
                scanner = MessageHeadScanner(measuresTarget: true)

                let framing = try BodyFraming(request.headers)
                if framing.hasTransferEncoding {
                    if framing.contentLength != nil { throw .contentLengthWithTransferEncoding }
                    if request.version == .http1_0 { throw .transferEncodingInHTTP10 }
                    if framing.hasOtherCoding { throw .unsupportedTransferEncoding }
                    if framing.chunkedCount != 1 { throw .badTransferEncoding }
                    phase = .chunkedBody(request)
                } else if let length = framing.contentLength, length > 0 {
                    if length > limits.maxBodyBytes { throw .bodyTooLarge }
                    // Reserve only what a first read could bring: a head that promises a large body and
                    // sends nothing must not pin that much memory.
                    body.reserveCapacity(min(length, Self.initialBodyCapacity))
                    phase = .fixedBody(request, remaining: length)
                } else {
                    return (i, request)
                }
                continueRequested = request.version == .http1_1
                    && request.headers.containsToken("100-continue", for: "expect")

            case .fixedBody(let request, let remaining):
                guard i < input.count else { return (i, nil) }
                let n = min(remaining, input.count - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + n)]))
                i += n
                if n < remaining {
                    phase = .fixedBody(request, remaining: remaining - n)
                    return (i, nil)
                }
                return (i, complete(request))

            case .chunkedBody(let request):
                guard i < input.count else { return (i, nil) }
                let (end, done) = try chunked.decode(input, from: i, into: &body, limits: limits)
                i = end
                return (i, done ? complete(request) : nil)
            }
        }
    }

    private mutating func complete(_ request: HTTPRequest) -> HTTPRequest {
        var request = request
        request.body = body
        body = []
        phase = .head
        continueRequested = false
        return request
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
