import Attendance
import JSON

/// Hub → client messages (PROTOCOL.md), written straight to bytes in the worker's reusable writer.
enum HubReply {
    /// `id` is the client's raw JSON token (a string literal or a number), echoed byte for byte.
    private static func start(_ w: inout JSONWriter, _ type: String, id: String?) {
        w.beginObject()
        w.key("type")
        w.string(type)
        if var id {
            w.key("id")
            id.withUTF8 { w.raw(UnsafeRawBufferPointer($0)) }
        }
    }

    static func error(_ w: inout JSONWriter, id: String?, code: String, message: String) {
        start(&w, "error", id: id)
        w.key("code"); w.string(code)
        w.key("message"); w.string(message)
        w.endObject()
    }

    static func ack(_ w: inout JSONWriter, id: String?, status: String, atMs: Int64) {
        start(&w, "ack", id: id)
        w.key("status"); w.string(status)
        w.key("at_ms"); w.int(atMs)
        w.endObject()
    }

    /// `subscribed` with the snapshot (no `since`) or without it (a replay follows).
    static func subscribed(_ w: inout JSONWriter, id: String?, classId: String, offset: EventOffset, snapshot: [StudentRecord]?) {
        start(&w, "subscribed", id: id)
        w.key("class_id"); w.string(classId)
        w.key("offset"); w.string(offset.description)
        if let snapshot {
            w.key("snapshot")
            w.beginObject()
            w.key("students")
            w.beginArray()
            for record in snapshot { writeSnapshotRow(&w, record) }
            w.endArray()
            w.endObject()
        }
        w.endObject()
    }

    private static func writeSnapshotRow(_ w: inout JSONWriter, _ r: StudentRecord) {
        w.beginObject()
        w.key("student_id"); w.string(r.studentId)
        if let name = r.name { w.key("name"); w.string(name) }
        w.key("status"); w.string(r.status.rawValue)
        w.key("at_ms")
        if let at = r.atMs { w.int(at) } else { w.null() }
        if let method = r.method { w.key("method"); w.string(method) }
        if let by = r.by { w.key("by"); w.string(by) }
        // As in `checked_in` events: only when present, so a reconnecting dashboard still sees them.
        if !r.flags.isEmpty {
            w.key("flags")
            w.beginArray()
            for flag in r.flags { w.string(flag) }
            w.endArray()
        }
        if let device = r.device { w.key("device"); w.string(device) }
        w.endObject()
    }
}
