import Attendance
import HTTP

/// One failed request, ready to become PROTOCOL.md's `{"error": {"code", "message"}}` with its
/// status. Domain failures arrive as `AttendanceError` and are translated here and nowhere else;
/// the few errors only HTTP knows (an unparsable body, an unknown format) are built here too.
struct APIError: Error, Equatable {
    let status: Int
    let code: String
    let message: String
    /// Seconds for `Retry-After` (429).
    let retryAfterS: Int?

    init(status: Int, code: String, message: String, retryAfterS: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterS = retryAfterS
    }

    init(_ error: AttendanceError) {
        self.init(status: error.httpStatus, code: error.code, message: error.message, retryAfterS: error.retryAfterS)
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest(message)) }

    /// The parser's detail (byte offset and reason) helps whoever hand-writes a request body.
    static func invalidJSON(_ detail: String) -> APIError {
        APIError(status: 400, code: "invalid_json", message: "The request body is not valid JSON: \(detail)")
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(status: 401, code: "unauthorized", message: message)
    }

    static func forbidden(_ message: String) -> APIError { APIError(.forbidden(message)) }

    var response: HTTPResponse {
        var response = HTTPResponse.error(status, code: code, message: message)
        response.headers.add("Cache-Control", "no-store")
        if let retryAfterS { response.headers.add("Retry-After", String(retryAfterS)) }
        // RFC 6750 §3: a 401 names the scheme the client should use.
        if status == 401 { response.headers.add("WWW-Authenticate", #"Bearer realm="attendance""#) }
        return response
    }
}
