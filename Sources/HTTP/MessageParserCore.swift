/// What `MessageParserCore` needs from the kind of message it parses (a request or a response).
protocol ParsableHTTPMessage {
    /// Whether the start line carries a request-target the scanner must bound (414).
    static var headHasTarget: Bool { get }
    /// Builds the message, without a body, from one complete head.
    static func parseHead(_ head: UnsafeRawBufferPointer) throws(HTTPParseError) -> Self
    /// Whether an accepted message whose body is still to come asked for `100 Continue`.
    var expectsContinue: Bool { get }
    var body: [UInt8] { get set }
}

/// How a message's body is delimited, as the parser decided from its head.
enum BodyPlan {
    /// No body: the message is complete with its head.
    case none
    /// An interim message (1xx) to drop; the next head follows.
    case skip
    /// Content-Length bytes (checked against the limit before anything is buffered).
    case fixed(Int)
    case chunked
    /// Everything up to the end of the connection (`finish()`).
    case untilClose
}

/// The state machine HTTPRequestParser and HTTPResponseParser share: head accumulation across reads,
/// body decoding by Content-Length, chunked coding or the connection's end, and sticky failure. What
/// differs between them, how a head becomes a message and how its body is framed, comes in from
/// `Message` and from the `plan` each `parse` call passes.
struct MessageParserCore<Message: ParsableHTTPMessage> {
    static var initialBodyCapacity: Int { 64 * 1024 }

    private enum Phase {
        case head
        case fixedBody(Message, remaining: Int)
        case chunkedBody(Message)
        case untilClose(Message)
        case failed(HTTPParseError)
    }

    private var phase = Phase.head
    private var scanner = MessageHeadScanner(measuresTarget: Message.headHasTarget)
    private var headBuffer: [UInt8] = []
    private var body: [UInt8] = []
    private var chunked = ChunkedDecoder()
    /// Set when a head that expects `100 Continue` was accepted and its body has not arrived yet.
    private(set) var continueRequested = false

    var hasPartialMessage: Bool {
        if case .head = phase { return scanner.byteCount > 0 }
        return true
    }

    mutating func takeContinueRequest() -> Bool {
        defer { continueRequested = false }
        return continueRequested
    }

    /// Consumes bytes up to the end of the next complete message; `plan` decides each accepted head's
    /// framing (and may throw to refuse it). With a nil message, all of `input` was consumed. The
    /// owner keeps `limits` (part of its public API), so the core does not store a second copy.
    mutating func parse(_ input: UnsafeRawBufferPointer, limits: HTTPLimits,
                        plan: (Message) throws(HTTPParseError) -> BodyPlan) throws(HTTPParseError) -> (consumed: Int, message: Message?) {
        do {
            return try step(input, limits: limits, plan: plan)
        } catch {
            fail(error)
            throw error
        }
    }

    /// The connection reached EOF: completes a message framed by the close, returns nil between
    /// messages, and throws `.truncatedMessage` in the middle of one.
    mutating func finish() throws(HTTPParseError) -> Message? {
        switch phase {
        case .head where scanner.byteCount == 0:
            return nil
        case .untilClose(let message):
            return complete(message)
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

    private mutating func step(_ input: UnsafeRawBufferPointer, limits: HTTPLimits,
                               plan: (Message) throws(HTTPParseError) -> BodyPlan) throws(HTTPParseError) -> (consumed: Int, message: Message?) {
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
                let message: Message
                if headBuffer.isEmpty {
                    message = try Message.parseHead(head)
                } else {
                    headBuffer.append(contentsOf: head)
                    let result = headBuffer.withUnsafeBytes { bytes in
                        Result { () throws(HTTPParseError) in try Message.parseHead(bytes) }
                    }
                    headBuffer = []
                    message = try result.get()
                }
                scanner = MessageHeadScanner(measuresTarget: Message.headHasTarget)

                switch try plan(message) {
                case .none:
                    return (i, message)
                case .skip:
                    continue
                case .fixed(let length):
                    if length > limits.maxBodyBytes { throw .bodyTooLarge }
                    if length == 0 { return (i, message) }
                    // Reserve only what a first read could bring: a head that promises a large body and
                    // sends nothing must not pin that much memory.
                    body.reserveCapacity(min(length, Self.initialBodyCapacity))
                    phase = .fixedBody(message, remaining: length)
                case .chunked:
                    phase = .chunkedBody(message)
                case .untilClose:
                    phase = .untilClose(message)
                }
                continueRequested = message.expectsContinue

            case .fixedBody(let message, let remaining):
                guard i < input.count else { return (i, nil) }
                let n = min(remaining, input.count - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + n)]))
                i += n
                if n < remaining {
                    phase = .fixedBody(message, remaining: remaining - n)
                    return (i, nil)
                }
                return (i, complete(message))

            case .chunkedBody(let message):
                guard i < input.count else { return (i, nil) }
                let (end, done) = try chunked.decode(input, from: i, into: &body, limits: limits)
                return (end, done ? complete(message) : nil)

            case .untilClose:
                guard body.count <= limits.maxBodyBytes - (input.count - i) else { throw .bodyTooLarge }
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i...]))
                return (input.count, nil)
            }
        }
    }

    private mutating func complete(_ message: Message) -> Message {
        var message = message
        message.body = body
        body = []
        phase = .head
        continueRequested = false
        return message
    }
}
