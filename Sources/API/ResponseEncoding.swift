import Attendance
import JSON

/// The JSON bodies of successful responses, in PROTOCOL.md's snake_case. Absent optional values are
/// written as `null` rather than left out, so every response of an endpoint has the same keys.
enum ResponseEncoding {
    static func created(_ created: CreatedClass, publicBase: String) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("class_id", created.classId)
        w.field("name", created.name)
        w.field("teacher_id", created.teacherId)
        w.field("code", created.code)
        w.field("link", publicBase + created.link)
        w.field("link_token", created.linkToken)
        w.field("qr", created.qr)
        w.field("qr_url", qrURL(created.qr, publicBase: publicBase))
        w.field("qr_expires_ms", created.qrExpiresMs)
        w.field("start_ms", created.startMs)
        w.field("closes_at_ms", created.closesAtMs)
        w.field("late_after_s", created.lateAfterS)
        w.field("duration_s", created.durationS)
        w.field("qr_period_s", created.qrPeriodS)
        w.field("allow_code_checkin", created.allowCodeCheckin)
        networks(&w, created.allowedNetworks)
        settings(&w, created.devicePolicy, created.joinRequires, created.enrolUnknown)
        w.field("roster_size", created.rosterSize)
        w.endObject()
        return w.bytes
    }

    static func classInfo(_ info: ClassInfo, publicBase: String) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        classInfo(&w, info, publicBase: publicBase)
        return w.bytes
    }

    /// `GET /v1/classes?mine=1`: each class in the shape of `GET /v1/classes/{id}`.
    static func classList(_ infos: [ClassInfo], publicBase: String) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + 512 * infos.count)
        w.beginObject()
        w.key("classes")
        w.beginArray()
        for info in infos { classInfo(&w, info, publicBase: publicBase) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// `POST /v1/auth/login` and `/v1/auth/refresh`.
    static func session(accessToken: String, expiresIn: Int64, user: UserAccount) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("access_token", accessToken)
        w.field("expires_in", expiresIn)
        w.key("user")
        w.beginObject()
        w.field("id", user.id)
        w.field("role", user.role.rawValue)
        w.field("name", user.name)
        w.endObject()
        w.endObject()
        return w.bytes
    }

    private static func classInfo(_ w: inout JSONWriter, _ info: ClassInfo, publicBase: String) {
        w.beginObject()
        w.field("class_id", info.classId)
        w.field("name", info.name)
        w.field("teacher_id", info.teacherId)
        w.field("state", info.isOpen ? "open" : "closed")
        w.field("start_ms", info.startMs)
        w.field("closes_at_ms", info.closesAtMs)
        w.field("closed_at_ms", orNull: info.closedAtMs)
        w.field("late_after_s", info.lateAfterS)
        w.field("duration_s", info.durationS)
        w.field("qr_period_s", info.qrPeriodS)
        w.field("allow_code_checkin", info.allowCodeCheckin)
        networks(&w, info.allowedNetworks)
        settings(&w, info.devicePolicy, info.joinRequires, info.enrolUnknown)
        w.field("code", orNull: info.code)
        w.field("link", orNull: info.linkToken.map { publicBase + JoinLink.path(token: $0) })
        w.field("link_token", orNull: info.linkToken)
        w.field("roster_size", info.rosterSize)
        w.key("counts")
        w.beginObject()
        for status in AttendanceStatus.allCases { w.field(status.rawValue, info.counts[status]) }
        w.field("total", info.counts.total)
        w.endObject()
        w.field("offset", info.offset.description)
        w.endObject()
    }

    private static func settings(_ w: inout JSONWriter, _ policy: DevicePolicy, _ requires: JoinRequirement,
                                 _ unknown: EnrolUnknown) {
        w.field("device_policy", policy.rawValue)
        w.field("join_requires", requires.rawValue)
        w.field("enrol_unknown", unknown.rawValue)
    }

    /// The class's own `allowed_networks` (empty: the site's default applies).
    private static func networks(_ w: inout JSONWriter, _ networks: [CIDR]) {
        w.key("allowed_networks")
        w.beginArray()
        for network in networks { w.string(network.description) }
        w.endArray()
    }

    static func qr(_ code: QRCode, publicBase: String) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.field("class_id", code.classId)
        w.field("qr", code.qr)
        w.field("url", qrURL(code.qr, publicBase: publicBase))
        w.field("expires_ms", code.expiresMs)
        w.field("period_s", code.periodS)
        w.endObject()
        return w.bytes
    }

    /// What a QR code encodes: the student page that checks in with the token. QR tokens are made of
    /// identifier characters, digits and base64url, all of which a query may hold unescaped.
    static func qrURL(_ qr: String, publicBase: String) -> String {
        publicBase + "/checkin?qr=" + qr
    }

    static func joined(_ result: JoinResult) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("class_id", result.classId)
        w.field("class_name", result.className)
        w.field("student_id", result.studentId)
        w.field("access_token", result.accessToken)
        w.field("status", result.status.rawValue)
        w.field("at_ms", orNull: result.atMs)
        w.endObject()
        return w.bytes
    }

    /// 202 to a join that waits for the teacher's approval.
    static func pendingJoin(_ result: JoinResult) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("status", "pending")
        w.field("class_id", result.classId)
        w.field("class_name", result.className)
        w.field("student_id", result.studentId)
        w.endObject()
        return w.bytes
    }

    static func checkin(_ result: CheckinResult) -> [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.beginObject()
        w.field("status", result.status.rawValue)
        w.field("at_ms", result.atMs)
        w.endObject()
        return w.bytes
    }

    static func receipt(_ issued: IssuedReceipt) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("receipt", issued.receipt)
        w.field("class_id", issued.classId)
        w.field("class_name", issued.className)
        w.field("expires_at_ms", issued.expiresAtMs)
        w.endObject()
        return w.bytes
    }

    static func personalLinks(classId: String, links: [PersonalLink], publicBase: String) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + links.count * 320)
        w.beginObject()
        w.field("class_id", classId)
        w.key("links")
        w.beginArray()
        for link in links {
            w.beginObject()
            w.field("student_id", link.studentId)
            w.field("name", orNull: link.name)
            w.field("link_token", link.linkToken)
            w.field("link", publicBase + JoinLink.path(token: link.linkToken))
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    static func attendance(classId: String, snapshot: ClassSnapshot) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + snapshot.students.count * 120)
        w.beginObject()
        w.field("class_id", classId)
        w.field("offset", snapshot.offset.description)
        w.field("state", snapshot.isClosed ? "closed" : "open")
        w.key("students")
        w.beginArray()
        for record in snapshot.students { student(&w, record) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    static func student(_ w: inout JSONWriter, _ record: StudentRecord) {
        w.beginObject()
        w.field("student_id", record.studentId)
        w.field("name", orNull: record.name)
        w.field("status", record.status.rawValue)
        w.field("at_ms", orNull: record.atMs)
        w.field("method", orNull: record.method)
        w.field("by", orNull: record.by)
        w.field("note", orNull: record.note)
        w.field("rejoins", record.rejoins)
        w.key("flags"); w.beginArray()
        for flag in record.flags { w.string(flag) }
        w.endArray()
        w.field("device", orNull: record.device)
        w.field("client_time_ms", orNull: record.clientTimeMs)
        w.endObject()
    }

    static func deviceReset(studentId: String, device: String?) -> [UInt8] {
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("student_id", studentId)
        w.field("device", orNull: device)
        w.endObject()
        return w.bytes
    }

    static func override(_ result: OverrideResult) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("student_id", result.studentId)
        w.field("status", result.status.rawValue)
        w.field("at_ms", orNull: result.atMs)
        w.field("changed", result.changed)
        w.endObject()
        return w.bytes
    }

    static func bulk(_ result: BulkResult, status: AttendanceStatus) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + result.changed.count * 24)
        w.beginObject()
        w.field("status", status.rawValue)
        w.key("changed")
        w.beginArray()
        for id in result.changed { w.string(id) }
        w.endArray()
        w.field("count", result.changed.count)
        w.endObject()
        return w.bytes
    }

    static func closed(classId: String, _ result: CloseResult) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("class_id", classId)
        w.field("state", "closed")
        w.field("closed_at_ms", result.closedAtMs)
        w.field("marked_absent", result.markedAbsent)
        w.field("offset", result.offset.description)
        w.endObject()
        return w.bytes
    }

    /// The stored event JSON is spliced in as is: the bytes the hub sends, written by the scripts.
    static func events(classId: String, _ page: EventPage) -> [UInt8] {
        let size = page.events.reduce(96) { $0 + $1.json.count + 1 }
        var w = JSONWriter(capacity: size)
        w.beginObject()
        w.field("class_id", classId)
        w.key("events")
        w.beginArray()
        for event in page.events { event.json.withUnsafeBytes { w.raw($0) } }
        w.endArray()
        w.field("next", orNull: page.next?.description)
        w.field("has_more", page.mayHaveMore)
        w.endObject()
        return w.bytes
    }
}
