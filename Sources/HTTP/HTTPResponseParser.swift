/// An incremental HTTP/1.1 response parser, the counterpart of HTTPRequestParser for HTTPClient.
/// Bodies are framed by Content-Length, chunked Transfer-Encoding, or the end of the connection
/// (`finish()`); responses to HEAD and 1xx/204/304 have none. Interim 1xx responses (other than 101)
/// are skipped. Like the request parser it stops after each complete response.
public struct HTTPResponseParser {
    public let limits: HTTPLimits

    private enum Phase {
        case head
        case fixedBody(HTTPClientResponse, remaining: Int)
        case chunkedBody(HTTPClientResponse)
        case untilClose(HTTPClientResponse)
        case failed(HTTPParseError)
    }

    private var phase = Phase.head
    private var scanner = MessageHeadScanner(measuresTarget: false)
    private var headBuffer: [UInt8] = []
    private var body: [UInt8] = []
    private var chunked = ChunkedDecoder()

    public init(limits: HTTPLimits = .client) {
        self.limits = limits
    }

    /// Whether part of a response has been consumed.
    public var hasPartialResponse: Bool {
        if case .head = phase { return scanner.byteCount > 0 }
        return true
    }

    /// Consumes bytes up to the end of the next complete response. `isResponseToHEAD` tells whether the
    /// request this response answers was a HEAD (so it has no body whatever its headers say).
    public mutating func parse(_ input: UnsafeRawBufferPointer,
                               isResponseToHEAD: Bool = false) throws(HTTPParseError) -> (consumed: Int, response: HTTPClientResponse?) {
        do {
            return try step(input, isResponseToHEAD: isResponseToHEAD)
        } catch {
            fail(error)
            throw error
        }
    }

    /// The connection reached EOF: completes a response framed by the close, returns nil between
    /// responses, and throws `.truncatedMessage` in the middle of one.
    public mutating func finish() throws(HTTPParseError) -> HTTPClientResponse? {
        switch phase {
        case .head where scanner.byteCount == 0:
            return nil
        case .untilClose(let response):
            return complete(response)
        case .failed(let error):
            throw error
        default:
            fail(.truncatedMessage)
            throw .truncatedMessage
        }
    }

    private mutating func fail(_ error: HTTPParseError) {
        phase = .failed(error)
        headBuffer = []
        body = []
    }

    private mutating func step(_ input: UnsafeRawBufferPointer,
                               isResponseToHEAD: Bool) throws(HTTPParseError) -> (consumed: Int, response: HTTPClientResponse?) {
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
                let response: HTTPClientResponse
                if headBuffer.isEmpty {
                    response = try Self.makeResponse(head: head)
                } else {
                    headBuffer.append(contentsOf: head)
                    let result = headBuffer.withUnsafeBytes { bytes in
                        Result { () throws(HTTPParseError) in try Self.makeResponse(head: bytes) }
                    }
                    headBuffer = []
                    response = try result.get()
                }
                scanner = MessageHeadScanner(measuresTarget: false)

                if (100..<200).contains(response.status) && response.status != 101 { continue }
                if isResponseToHEAD || response.status < 200 || response.status == 204 || response.status == 304 {
                    return (i, response)
                }
                let framing = try BodyFraming(response.headers)
                if framing.hasTransferEncoding {
                    // RFC 9112 §6.3: chunked last frames the body; any other coding runs to the close.
                    phase = framing.chunkedIsLast ? .chunkedBody(response) : .untilClose(response)
                } else if let length = framing.contentLength {
                    if length > limits.maxBodyBytes { throw .bodyTooLarge }
                    if length == 0 { return (i, response) }
                    body.reserveCapacity(min(length, HTTPRequestParser.initialBodyCapacity))
                    phase = .fixedBody(response, remaining: length)
                } else {
                    phase = .untilClose(response)
                }

            case .fixedBody(let response, let remaining):
                guard i < input.count else { return (i, nil) }
                let n = min(remaining, input.count - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + n)]))
                i += n
                if n < remaining {
                    phase = .fixedBody(response, remaining: remaining - n)
                    return (i, nil)
                }
                return (i, complete(response))

            case .chunkedBody(let response):
                guard i < input.count else { return (i, nil) }
                let (end, done) = try chunked.decode(input, from: i, into: &body, limits: limits)
                return (end, done ? complete(response) : nil)

            case .untilClose:
                guard body.count <= limits.maxBodyBytes - (input.count - i) else { throw .bodyTooLarge }
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i...]))
                return (input.count, nil)
            }
        }
    }

    private mutating func complete(_ response: HTTPClientResponse) -> HTTPClientResponse {
        var response = response
        response.body = body
        body = []
        phase = .head
        return response
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
