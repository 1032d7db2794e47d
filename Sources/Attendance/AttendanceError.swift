import RedisClient

/// Every failure the domain reports, one case per PROTOCOL.md error code. The REST sidecar turns it
/// into `{"error": {"code", "message"}}` with `httpStatus`, the hub into an `error` message.
/// Translation from Redis (script error replies, lost connection) happens here and nowhere else.
public enum AttendanceError: Error, Equatable, Sendable {
    /// A field is missing or out of range; the text names it.
    case badRequest(String)
    case invalidJSON
    case unauthorized
    /// The caller is authenticated but may not do this; the text says why.
    case forbidden(String)
    /// The text names what was not found (usually the class).
    case notFound(String)
    case conflict(String)
    case classClosed
    case qrInvalid
    case qrExpired
    case codeInvalid
    case notOnRoster
    /// A check-in from outside the networks the class (or the site) allows.
    case networkNotAllowed
    case alreadyCheckedIn
    case rateLimited(retryAfterS: Int)
    /// A class with `enrol_unknown: approve` already has `ClassStore.pendingLimit` students waiting.
    case enrolmentQueueFull
    case payloadTooLarge
    /// A `device_sig` that does not verify with the student's bound device key.
    case deviceInvalid
    /// The class's `device_policy` is `refuse` and the check-in carries the named flag
    /// (`unsigned`, `new_device`, `shared_device`).
    case deviceRefused(String)
    /// Redis is unreachable or failed; retrying later may work.
    case unavailable

    /// The PROTOCOL.md error code.
    public var code: String {
        switch self {
        case .badRequest: "bad_request"
        case .invalidJSON: "invalid_json"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not_found"
        case .conflict: "conflict"
        case .classClosed: "class_closed"
        case .qrInvalid: "qr_invalid"
        case .qrExpired: "qr_expired"
        case .codeInvalid: "code_invalid"
        case .notOnRoster: "not_on_roster"
        case .networkNotAllowed: "network_not_allowed"
        case .alreadyCheckedIn: "already_checked_in"
        case .rateLimited, .enrolmentQueueFull: "rate_limited"
        case .payloadTooLarge: "payload_too_large"
        case .deviceInvalid: "device_invalid"
        case .deviceRefused: "device_refused"
        case .unavailable: "unavailable"
        }
    }

    /// The HTTP status that goes with the code.
    public var httpStatus: Int {
        switch self {
        case .badRequest, .invalidJSON: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .conflict, .classClosed, .alreadyCheckedIn: 409
        // The request was well-formed but the proof it carries does not hold.
        case .qrInvalid, .qrExpired, .codeInvalid, .deviceInvalid: 422
        case .deviceRefused: 409
        case .notOnRoster, .networkNotAllowed: 403
        case .rateLimited, .enrolmentQueueFull: 429
        case .payloadTooLarge: 413
        case .unavailable: 503
        }
    }

    /// A sentence a person can act on.
    public var message: String {
        switch self {
        case .badRequest(let detail): detail
        case .invalidJSON: "The request body is not valid JSON"
        case .unauthorized: "A valid access token is required"
        case .forbidden(let detail): detail
        case .notFound(let detail): detail
        case .conflict(let detail): detail
        case .classClosed: "This class session is closed"
        case .qrInvalid: "QR code is not valid for this class"
        case .qrExpired: "QR code expired; scan the current one"
        case .codeInvalid: "The join code is not valid"
        case .notOnRoster: "You are not on the roster of this class"
        case .networkNotAllowed: "Check-in is only possible from the school's network"
        case .alreadyCheckedIn: "Your attendance is already recorded for this class"
        case .rateLimited(let seconds): "Too many attempts; try again in \(seconds) s"
        case .enrolmentQueueFull:
            "Too many students are waiting for the teacher's approval in this class; try again in \(Self.enrolmentRetryAfterS) s"
        case .payloadTooLarge: "The request body is too large"
        case .deviceInvalid: "The device signature does not verify with this student's device key"
        case .deviceRefused(let reason): "Refused by the class's device policy: \(reason)"
        case .unavailable: "The service is temporarily unavailable; try again shortly"
        }
    }

    /// Seconds for a `Retry-After` header, when the error has one.
    public var retryAfterS: Int? {
        switch self {
        case .rateLimited(let seconds): return seconds
        case .enrolmentQueueFull: return Self.enrolmentRetryAfterS
        default: return nil
        }
    }

    static let classNotFound = AttendanceError.notFound("No such class")
    /// A minute: about how long a teacher takes to work through a screen of requests.
    static let enrolmentRetryAfterS = 60
    static let codeCheckinDisabled = AttendanceError.forbidden("This class does not accept check-in by code")
    static let notTeacherOfClass = AttendanceError.forbidden("Only the class's teacher or an admin may do this")
    /// A code, class-link or first QR join in a class created with `join_requires: link`.
    public static let personalLinkRequired = AttendanceError.forbidden("This class requires your personal join link")

    /// Maps a Redis failure. The scripts reply `-<code> [detail]` (redis.error_reply) for domain
    /// errors; anything else (lost connection, unexpected server error) means the store is not usable
    /// right now, which the client should see as `unavailable` rather than as its own mistake.
    public init(redis error: RedisError) {
        switch error {
        case .disconnected, .connection, .timeout, .notReplicated:
            self = .unavailable
        case .reply(let text):
            self = AttendanceError(scriptReply: text) ?? .unavailable
        }
    }

    /// The error named by a script's error reply, or nil when the reply is not one of ours.
    init?(scriptReply text: String) {
        var reply = Substring(text)
        if reply.first == "-" { reply = reply.dropFirst() }
        // Redis puts "ERR " in front of an error_reply whose text has no space.
        if reply.hasPrefix("ERR ") { reply = reply.dropFirst(4) }
        let word = reply.prefix { $0 != " " }
        switch word {
        case "not_found": self = .classNotFound
        case "forbidden": self = .notTeacherOfClass
        case "conflict": self = .conflict("A class with this id already exists")
        case "class_closed": self = .classClosed
        case "link_required": self = .personalLinkRequired
        case "not_on_roster": self = .notOnRoster
        case "already_checked_in": self = .alreadyCheckedIn
        case "code_invalid": self = .codeInvalid
        case "pending_full": self = .enrolmentQueueFull
        case "no_request": self = .notFound("No enrolment request from this student is waiting")
        case "code_checkin_disabled": self = .codeCheckinDisabled
        case "device_invalid": self = .deviceInvalid
        case "device_refused":
            self = .deviceRefused(String(reply.dropFirst(word.count).drop { $0 == " " }))
        case "class_full":
            let limit = reply.dropFirst(word.count).drop { $0 == " " }
            self = .conflict("The class is full: a class without a roster admits at most \(limit) students")
        case "bad_request":
            let detail = reply.dropFirst(word.count).drop { $0 == " " }
            self = .badRequest(detail.isEmpty ? "The request is not valid" : String(detail))
        default: return nil
        }
    }
}
