/// An incremental HTTP/1.1 response parser, the counterpart of HTTPRequestParser for HTTPClient.
/// Bodies are framed by Content-Length, chunked Transfer-Encoding, or the end of the connection
/// (`finish()`); responses to HEAD and 1xx/204/304 have none. Interim 1xx responses (other than 101)
/// are skipped. Like the request parser it stops after each complete response.
public struct HTTPResponseParser {
    public let limits: HTTPLimits

    private var core = MessageParserCore<HTTPClientResponse>()

    public init(limits: HTTPLimits = .client) {
        self.limits = limits
    }

    /// Whether part of a response has been consumed.
    public var hasPartialResponse: Bool { core.hasPartialMessage }

    /// Consumes bytes up to the end of the next complete response. `isResponseToHEAD` tells whether the
    /// request this response answers was a HEAD (so it has no body whatever its headers say).
    public mutating func parse(_ input: UnsafeRawBufferPointer,
                               isResponseToHEAD: Bool = false) throws(HTTPParseError) -> (consumed: Int, response: HTTPClientResponse?) {
        let (consumed, response) = try core.parse(input, limits: limits) { (response) throws(HTTPParseError) -> BodyPlan in
            try Self.bodyPlan(for: response, isResponseToHEAD: isResponseToHEAD)
        }
        return (consumed, response)
    }

    /// The connection reached EOF: completes a response framed by the close, returns nil between
    /// responses, and throws `.truncatedMessage` in the middle of one.
    public mutating func finish() throws(HTTPParseError) -> HTTPClientResponse? {
        try core.finish()
    }

    /// Interim 1xx (but 101) responses are skipped; HEAD answers, 1xx, 204 and 304 have no body; else
    /// Content-Length, chunked, or the connection's end frames it.
    static func bodyPlan(for response: HTTPClientResponse, isResponseToHEAD: Bool) throws(HTTPParseError) -> BodyPlan {
        if (100..<200).contains(response.status) && response.status != 101 { return .skip }
        if isResponseToHEAD || response.status < 200 || response.status == 204 || response.status == 304 {
            return .none
        }
        let framing = try BodyFraming(response.headers)
        if framing.hasTransferEncoding {
            // RFC 9112 §6.3: chunked last frames the body; any other coding runs to the close.
            return framing.chunkedIsLast ? .chunked : .untilClose
        }
        if let length = framing.contentLength { return .fixed(length) }
        return .untilClose
    }

    /// `HTTP-version SP 3DIGIT [SP reason-phrase]` (a missing reason is tolerated).
    static func makeResponse(head: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPClientResponse {
        let (lineRange, headers) = try MessageHead.parse(head)
        let line = UnsafeRawBufferPointer(rebasing: head[lineRange])
        guard line.count >= 12, line[8] == ASCII.space,
              ASCII.isDigit(line[9]), ASCII.isDigit(line[10]), ASCII.isDigit(line[11]),
              line.count == 12 || line[12] == ASCII.space
        else { throw .badStatusLine }
        let version: HTTPVersion
        do {
            version = try HTTPRequestParser.parseVersion(UnsafeRawBufferPointer(rebasing: line[..<8]))
        } catch {
            throw error == .unsupportedVersion ? .unsupportedVersion : .badStatusLine
        }
        let status = Int(line[9] &- 48) * 100 + Int(line[10] &- 48) * 10 + Int(line[11] &- 48)
        let reason = line.count > 13 ? String(decoding: UnsafeRawBufferPointer(rebasing: line[13...]), as: UTF8.self) : ""
        return HTTPClientResponse(version: version, status: status, reason: reason, headers: headers)
    }
}

extension HTTPClientResponse: ParsableHTTPMessage {
    static var headHasTarget: Bool { false }

    static func parseHead(_ head: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPClientResponse {
        try HTTPResponseParser.makeResponse(head: head)
    }

    /// Only requests ask for `100 Continue`.
    var expectsContinue: Bool { false }
}
