import Attendance
import JSON

/// Bodies of the report endpoints (PROTOCOL.md, "Reports").
extension ResponseEncoding {
    static func pattern(_ w: inout JSONWriter, _ p: AttendancePattern) {
        w.field("student_id", p.studentId)
        w.field("name", orNull: p.name)
        w.field("sessions", p.sessions)
        w.field("present", p.present)
        w.field("late", p.late)
        w.field("absent", p.absent)
        w.field("excused", p.excused)
        w.field("absence_rate", rounded(p.absenceRate))
        w.field("tier", p.tier.rawValue)
        w.field("longest_streak", p.longestStreak)
        w.field("current_streak", p.currentStreak)
    }

    /// Four decimals: a rate, not a measurement.
    static func rounded(_ rate: Double) -> Double { (rate * 10_000).rounded() / 10_000 }

    static func summary(_ p: AttendancePattern, from: String?, to: String?, classIds: [String]) -> [UInt8] {
        var w = JSONWriter(capacity: 512 + classIds.count * 16)
        w.beginObject()
        pattern(&w, p)
        w.field("from", orNull: from)
        w.field("to", orNull: to)
        w.key("class_ids")
        w.beginArray()
        for id in classIds { w.string(id) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    static func chronicAbsence(_ patterns: [AttendancePattern], sessions: Int, from: String, to: String) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + patterns.count * 256)
        w.beginObject()
        w.field("from", from)
        w.field("to", to)
        w.field("sessions", sessions)
        w.key("students")
        w.beginArray()
        for p in patterns {
            w.beginObject()
            pattern(&w, p)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    static let chronicAbsenceHeader = "student_id,name,sessions,present,late,absent,excused,absence_rate,tier,longest_streak,current_streak"

    static func chronicAbsenceCSV(_ patterns: [AttendancePattern]) -> [UInt8] {
        var out = Array((chronicAbsenceHeader + "\r\n").utf8)
        for p in patterns {
            let cells = [p.studentId, p.name ?? "", String(p.sessions), String(p.present), String(p.late), String(p.absent),
                         String(p.excused), String(rounded(p.absenceRate)), p.tier.rawValue, String(p.longestStreak),
                         String(p.currentStreak)]
            for (index, cell) in cells.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                CSVExport.appendCell(cell, to: &out)
            }
            out.append(contentsOf: "\r\n".utf8)
        }
        return out
    }
}
