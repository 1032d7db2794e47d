import Attendance
import JSON

/// Hub → client messages (PROTOCOL.md), written straight to bytes.
struct HubReply {
    var writer = JSONWriter(capacity: 128)

    private static func start(_ type: String, id: JSONValue?) -> HubReply {
        var reply = HubReply()
        reply.writer.beginObject()
        reply.writer.key("type")
        reply.writer.string(type)
        if let id {
            reply.writer.key("id")
            reply.writer.value(id)
        }
        return reply
    }

    static func pong(id: JSONValue?) -> HubReply {
        var r = start("pong", id: id)
        r.writer.endObject()
        return r
    }

    static func error(id: JSONValue?, code: String, message: String) -> HubReply {
        var r = start("error", id: id)
        r.writer.key("code"); r.writer.string(code)
        r.writer.key("message"); r.writer.string(message)
        r.writer.endObject()
        return r
    }

    static func ack(id: JSONValue?, status: String, atMs: Int64) -> HubReply {
        var r = start("ack", id: id)
        r.writer.key("status"); r.writer.string(status)
        r.writer.key("at_ms"); r.writer.int(atMs)
        r.writer.endObject()
        return r
    }

    /// `subscribed` with the snapshot (no `since`) or without it (a replay follows).
    static func subscribed(id: JSONValue?, classId: String, offset: EventOffset, snapshot: [JSONValue]?) -> HubReply {
        var r = start("subscribed", id: id)
        r.writer.key("class_id"); r.writer.string(classId)
        r.writer.key("offset"); r.writer.string(offset.description)
        if let snapshot {
            r.writer.key("snapshot")
            r.writer.beginObject()
            r.writer.key("students")
            r.writer.value(.array(snapshot))
            r.writer.endObject()
        }
        r.writer.endObject()
        return r
    }
}
