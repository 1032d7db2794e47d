/// Every way a request (or, for HTTPClient, a response) can be malformed or over a limit. Each case
/// maps to exactly one status, error code and message in `status`/`code`/`message`, the only place
/// where that translation happens.
public enum HTTPParseError: Error, Sendable, Equatable {
    /// The request line is not `method SP origin-form-target SP HTTP-version`.
    case badRequestLine
    /// The target is not origin-form (must start with "/") or holds an invalid percent-escape or UTF-8.
    case badTarget
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1.
    case unsupportedVersion
    /// A CR not followed by LF.
    case bareCR
    /// A field name that is empty or not a token, or whitespace before the colon.
    case badHeaderName
    /// A control byte in a field value.
    case badHeaderValue
    /// A line starting with whitespace (obsolete line folding, RFC 9112 §5.2).
    case obsoleteLineFolding
    /// More than one Host field.
    case duplicateHost
    /// Content-Length not all digits, overflowing, or several differing values.
    case badContentLength
    /// Both Content-Length and Transfer-Encoding: the classic request-smuggling ambiguity.
    case contentLengthWithTransferEncoding
    /// Transfer-Encoding on an HTTP/1.0 message, whose framing then cannot be trusted (RFC 9112 §6.1).
    case transferEncodingInHTTP10
    /// Transfer-Encoding whose codings are empty, repeat "chunked", or do not end in "chunked".
    case badTransferEncoding
    /// A transfer coding other than "chunked".
    case unsupportedTransferEncoding
    /// A malformed chunk-size line, chunk terminator, or an overflowing chunk size.
    case badChunk
    /// The request line and headers (or a chunked trailer section) exceed `maxHeadBytes`.
    case headTooLarge
    /// More header fields than `maxHeaderCount`.
    case tooManyHeaders
    /// The request-target exceeds `maxURILength`.
    case uriTooLong
    /// The body exceeds `maxBodyBytes`, known from Content-Length or from a chunk size.
    case bodyTooLarge
    /// A response's status line is malformed (HTTPClient only).
    case badStatusLine
    /// The peer closed the connection in the middle of a message (HTTPClient only).
    case truncatedMessage

    /// The HTTP status a server answers with.
    public var status: Int {
        switch self {
        case .unsupportedVersion: return 505
        case .unsupportedTransferEncoding: return 501
        case .headTooLarge, .tooManyHeaders: return 431
        case .uriTooLong: return 414
        case .bodyTooLarge: return 413
        case .badStatusLine, .truncatedMessage: return 502
        default: return 400
        }
    }

    /// The error code of the response body; only codes from PROTOCOL.md's list are used.
    public var code: String {
        self == .bodyTooLarge ? "payload_too_large" : "bad_request"
    }

    /// A short human-readable reason for the response body and logs.
    public var message: String {
        switch self {
        case .badRequestLine: return "malformed request line"
        case .badTarget: return "request target must be an absolute path with valid percent-encoding"
        case .unsupportedVersion: return "HTTP version not supported"
        case .bareCR: return "CR not followed by LF"
        case .badHeaderName: return "malformed header field name"
        case .badHeaderValue: return "control character in header field value"
        case .obsoleteLineFolding: return "obsolete line folding is not accepted"
        case .duplicateHost: return "more than one Host header"
        case .badContentLength: return "invalid Content-Length"
        case .contentLengthWithTransferEncoding: return "both Content-Length and Transfer-Encoding"
        case .transferEncodingInHTTP10: return "Transfer-Encoding is not allowed in HTTP/1.0"
        case .badTransferEncoding: return "Transfer-Encoding must end in a single chunked"
        case .unsupportedTransferEncoding: return "unsupported transfer coding"
        case .badChunk: return "malformed chunked body"
        case .headTooLarge: return "request header section too large"
        case .tooManyHeaders: return "too many header fields"
        case .uriTooLong: return "request target too long"
        case .bodyTooLarge: return "request body too large"
        case .badStatusLine: return "malformed status line"
        case .truncatedMessage: return "connection closed in the middle of a message"
        }
    }
}
