import Attendance
import JSON

extension APIHandlers {
    /// `POST /v1/classes/{id}/students/{student_id}:approve` and `…:deny` (its teacher, admin, no
    /// body): answers a waiting enrolment request of an `enrol_unknown: approve` class. The action is
    /// the text after the segment's last colon (student ids may contain colons themselves).
    func answerEnrolment(_ exchange: Exchange, classId: String, segment: String) {
        guard let actor = authenticate(exchange) else { return }
        let unknownAction = APIError(.notFound("No such action; use <student_id>:approve or <student_id>:deny"))
        guard let colon = segment.lastIndex(of: ":") else { return exchange.fail(unknownAction) }
        let studentId = String(segment[..<colon])
        switch segment[segment.index(after: colon)...] {
        case "approve":
            store.approveEnrolment(classId: classId, studentId: studentId, actor: actor, address: exchange.clientAddress) { result in
                self.reply(exchange, result) { name in Self.enrolmentAnswer(studentId: studentId, status: "approved", name: name) }
            }
        case "deny":
            store.denyEnrolment(classId: classId, studentId: studentId, actor: actor, address: exchange.clientAddress) { result in
                self.reply(exchange, result) { _ in Self.enrolmentAnswer(studentId: studentId, status: "denied", name: nil) }
            }
        default:
            exchange.fail(unknownAction)
        }
    }

    /// `GET /v1/classes/{id}/pending` (its teacher, admin): the students waiting for approval.
    func pendingEnrolments(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange) else { return }
        store.pendingEnrolments(classId: classId, actor: actor) { result in
            self.reply(exchange, result) { rows in
                var w = JSONWriter(capacity: 64 + rows.count * 120)
                w.beginObject()
                w.field("class_id", classId)
                w.key("pending")
                w.beginArray()
                for row in rows {
                    w.beginObject()
                    w.field("student_id", row.studentId)
                    w.field("name", orNull: row.name)
                    w.field("at_ms", row.atMs)
                    w.endObject()
                }
                w.endArray()
                w.endObject()
                return w.bytes
            }
        }
    }

    private static func enrolmentAnswer(studentId: String, status: String, name: String?) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("student_id", studentId)
        w.field("status", status)
        if status == "approved" {
            w.field("name", orNull: name)
        }
        w.endObject()
        return w.bytes
    }
}
