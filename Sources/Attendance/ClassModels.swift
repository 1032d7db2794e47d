/// Inputs and results of ClassStore operations. Field names follow PROTOCOL.md's JSON (in camel case).

/// `POST /v1/classes` body.
public struct CreateClassRequest: Sendable, Equatable {
    public var name: String
    public var roster: [String]
    public var lateAfterS: Int
    public var durationS: Int
    public var qrPeriodS: Int
    public var allowCodeCheckin: Bool
    /// Networks check-ins must come from (empty: the site's default, `StoreLimits.allowedNetworks`).
    public var allowedNetworks: [CIDR]
    /// What a check-in from an unexpected device does: flag it for the teacher, or refuse it.
    public var devicePolicy: DevicePolicy = .flag
    /// `link`: new students join only by personal link (`code`: any credential).
    public var joinRequires: JoinRequirement = .code
    /// What a join with an id not on the roster does: refused like a wrong code, or queued for approval.
    public var enrolUnknown: EnrolUnknown = .refuse
    /// The imported course (classes.csv `sourcedId`) the session was opened from; "" for none.
    public var courseId = ""

    /// Defaults are PROTOCOL.md's: late after 10 min, one hour, a new QR every 15 s, no code check-in
    /// (a code can be passed on outside the room; the QR proves presence).
    public init(name: String, roster: [String] = [], lateAfterS: Int = 600, durationS: Int = 3600,
                qrPeriodS: Int = 15, allowCodeCheckin: Bool = false, allowedNetworks: [CIDR] = []) {
        self.name = name
        self.roster = roster
        self.lateAfterS = lateAfterS
        self.durationS = durationS
        self.qrPeriodS = qrPeriodS
        self.allowCodeCheckin = allowCodeCheckin
        self.allowedNetworks = allowedNetworks
    }

    /// Accepted ranges, checked before anything is written.
    public static let nameLength = 1...200
    public static let maxRoster = 5000
    public static let lateAfterRange = 0...86_400
    public static let durationRange = 60...86_400
    public static let qrPeriodRange = 5...60
    /// A school has a few networks; the bound keeps the meta hash and each check-in's scan small.
    public static let maxAllowedNetworks = 32
}

public struct CreatedClass: Sendable, Equatable {
    public let classId: String
    public let name: String
    public let teacherId: String
    /// The 6-digit join code.
    public let code: String
    public let linkToken: String
    /// `/j/<link_token>`.
    public let link: String
    public let qr: String
    public let qrExpiresMs: Int64
    public let startMs: Int64
    public let closesAtMs: Int64
    public let lateAfterS: Int
    public let durationS: Int
    public let qrPeriodS: Int
    public let allowCodeCheckin: Bool
    public let allowedNetworks: [CIDR]
    public let rosterSize: Int
    public let devicePolicy: DevicePolicy
    public let joinRequires: JoinRequirement
    public let enrolUnknown: EnrolUnknown
}

public struct StatusCounts: Sendable, Equatable {
    public var unmarked = 0
    public var present = 0
    public var late = 0
    public var absent = 0
    public var excused = 0

    public init() {}

    public var total: Int { unmarked + present + late + absent + excused }

    public subscript(status: AttendanceStatus) -> Int {
        switch status {
        case .unmarked: unmarked
        case .present: present
        case .late: late
        case .absent: absent
        case .excused: excused
        }
    }
}

/// `GET /v1/classes/{id}`.
public struct ClassInfo: Sendable, Equatable {
    public let classId: String
    public let name: String
    public let teacherId: String
    /// False once closed, or once `closesAtMs` has passed even if the sweep has not closed it yet.
    public let isOpen: Bool
    public let startMs: Int64
    public let closesAtMs: Int64
    public let closedAtMs: Int64?
    public let lateAfterS: Int
    public let durationS: Int
    public let qrPeriodS: Int
    public let allowCodeCheckin: Bool
    public let allowedNetworks: [CIDR]
    /// The join code while the class is open.
    public let code: String?
    /// A fresh join link token (valid until the class closes) while the class is open.
    public let linkToken: String?
    public let rosterSize: Int
    public let devicePolicy: DevicePolicy
    public let joinRequires: JoinRequirement
    public let enrolUnknown: EnrolUnknown
    public let counts: StatusCounts
    /// Offset of the last event (`0-0` before any).
    public let offset: EventOffset
}

/// The current QR token of a class.
public struct QRCode: Sendable, Equatable {
    public let classId: String
    public let qr: String
    public let expiresMs: Int64
    public let periodS: Int
}

/// One row of the attendance list, snapshot and CSV export.
public struct StudentRecord: Sendable, Equatable {
    public let studentId: String
    public let name: String?
    public let status: AttendanceStatus
    /// When the current status was set (nil while unmarked).
    public let atMs: Int64?
    /// `qr`, `code` (check-in), `override`, `bulk`, `close` (set by a teacher or the close).
    public let method: String?
    /// Who set a teacher-decided status.
    public let by: String?
    public let note: String?
    /// How often the student joined again after the first join (each answered a fresh token).
    public var rejoins = 0
    /// Suspicions recorded with the check-in (`unsigned`, `new_device`, `shared_device`,
    /// `late_delivery`, `stale_qr`); empty when none.
    public var flags: [String] = []
    /// The key id of the device that signed the check-in, if it was signed.
    public var device: String?
    /// An offline check-in's signed `client_time_ms` (when the QR was scanned; `atMs` is the arrival).
    public var clientTimeMs: Int64?
}

/// What a student joins with (`POST /v1/join`).
public enum JoinCredential: Sendable, Equatable {
    case code(String)
    case linkToken(String)
    /// Joins and checks in at once.
    case qr(String)
    /// A scan receipt in place of the QR (with `device_key` and `device_sig` by that key).
    case receipt(String)
}

public struct JoinResult: Sendable, Equatable {
    public let classId: String
    public let studentId: String
    /// A student token bound to the class (`cls`); empty while `pendingApproval`.
    public let accessToken: String
    /// The student's status after joining (after the check-in, when joining with a QR).
    public let status: AttendanceStatus
    public let atMs: Int64?
    /// The id is not on the roster of an `enrol_unknown: approve` class: the request waits for the
    /// teacher (no token yet; the student joins again once approved).
    public var pendingApproval = false
    /// The class's name, so the student page can say which class it joined.
    public var className = ""
}

/// The proof a check-in carries.
public enum CheckinProof: Sendable, Equatable {
    case qr(String)
    /// A scan receipt in place of the QR; needs a `device_sig` by the key it is bound to.
    case receipt(String)
    /// Only for classes created with `allowCodeCheckin`.
    case code(String)
}

/// A check-in's `device_sig` (64 bytes r ‖ s) and the `client_time_ms` it signs.
public struct DeviceSignature: Sendable, Equatable {
    public let signature: [UInt8]
    public let clientTimeMs: Int64
    /// `offline: true`: the check-in was queued on a device without network and may arrive after its
    /// QR or receipt expired (PROTOCOL.md "Offline check-ins"); only a signed check-in can claim it.
    public var offline: Bool

    public init(signature: [UInt8], clientTimeMs: Int64, offline: Bool = false) {
        self.signature = signature
        self.clientTimeMs = clientTimeMs
        self.offline = offline
    }
}

/// What a class admits new students with (PROTOCOL.md "Personal join links").
public enum JoinRequirement: String, Sendable, Equatable, CaseIterable {
    /// The class code, the class link, a QR or a personal link.
    case code
    /// Only a personal link; a QR join only for a student who joined before.
    case link
}

/// What a class does with a join whose student id is not on its roster (PROTOCOL.md "Enrolment
/// requests").
public enum EnrolUnknown: String, Sendable, Equatable, CaseIterable {
    /// Answer like a wrong code (no roster oracle).
    case refuse
    /// Queue the id for the teacher's approval (`202 pending`).
    case approve
}

/// One unknown student waiting for approval (`GET /v1/classes/{id}/pending`).
public struct PendingStudent: Sendable, Equatable {
    public let studentId: String
    public let name: String?
    public let atMs: Int64
}

/// A class's answer to suspicious device use (PROTOCOL.md "Device binding").
public enum DevicePolicy: String, Sendable, Equatable, CaseIterable {
    /// Check in and mark the record with a flag.
    case flag
    /// Refuse the check-in or join with `device_refused`.
    case refuse
}

public struct CheckinResult: Sendable, Equatable {
    /// `present` or `late`.
    public let status: AttendanceStatus
    public let atMs: Int64
    /// True when this repeated an earlier check-in (or the teacher had already marked the student
    /// present/late): nothing was written and no event was sent.
    public let repeated: Bool
}

public struct OverrideResult: Sendable, Equatable {
    public let studentId: String
    public let status: AttendanceStatus
    public let atMs: Int64?
    /// False when the student already had this status (no event was sent).
    public let changed: Bool
}

public enum BulkTarget: Sendable, Equatable {
    case students([String])
    case allUnmarked

    public static let maxStudents = 5000
}

public struct BulkResult: Sendable, Equatable {
    /// The students whose status changed, in id order; one `status_changed` event each.
    public let changed: [String]
}

public struct CloseResult: Sendable, Equatable {
    public let closedAtMs: Int64
    /// Unmarked students now absent.
    public let markedAbsent: Int
    /// Offset of the `class_closed` event.
    public let offset: EventOffset
}

public struct ClassSnapshot: Sendable, Equatable {
    public let classId: String
    /// The snapshot includes every event up to and including this offset; resume after it.
    public let offset: EventOffset
    public let isClosed: Bool
    public let students: [StudentRecord]
}

/// One event of the log: its offset and its JSON exactly as stored and published.
public struct StoredEvent: Sendable, Equatable {
    public let offset: EventOffset
    public let json: [UInt8]
}

public struct EventPage: Sendable, Equatable {
    public let events: [StoredEvent]
    /// Pass as `since` to continue; nil when the log had nothing after `since`. Can be past the last
    /// returned event when a student's filter skipped entries.
    public let next: EventOffset?
    /// True when the page was full, so more events may follow.
    public let mayHaveMore: Bool
}

public struct RateLimitDecision: Sendable, Equatable {
    public let allowed: Bool
    /// Seconds until the window resets (0 when allowed).
    public let retryAfterS: Int
}
