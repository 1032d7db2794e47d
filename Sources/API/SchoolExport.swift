import Attendance
import JSON

/// Attendance in the formats an SIS loads (docs/SCHOOL-SYSTEMS.md has the mapping): Ed-Fi
/// `StudentSectionAttendanceEvent` documents and a flat CSV of every closed session. Students still
/// `unmarked` (a class not closed yet) have no event and no row.
public enum SchoolExport {
    static let descriptorBase = "uri://ed-fi.org/AttendanceEventCategoryDescriptor#"

    /// The Ed-Fi attendance event category of a status; nil for `unmarked`.
    public static func edfiCategory(_ status: AttendanceStatus) -> String? {
        switch status {
        case .present: descriptorBase + "In Attendance"
        case .late: descriptorBase + "Tardy"
        case .excused: descriptorBase + "Excused Absence"
        case .absent: descriptorBase + "Unexcused Absence"
        case .unmarked: nil
        }
    }

    /// A JSON array of `StudentSectionAttendanceEvent` documents for the given sessions.
    public static func edfi(_ sessions: [SessionExport]) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + sessions.reduce(0) { $0 + $1.students.count * 400 })
        w.beginArray()
        for session in sessions {
            for student in session.students {
                guard let category = edfiCategory(student.status) else { continue }
                w.beginObject()
                w.field("attendanceEventCategoryDescriptor", category)
                w.field("eventDate", ReportDate.date(session.startMs))
                w.key("sectionReference")
                sectionReference(&w, session)
                w.key("studentReference")
                w.beginObject()
                w.field("studentUniqueId", student.studentId)
                w.endObject()
                if student.status == .present || student.status == .late, let at = student.atMs {
                    w.field("arrivalTime", ReportDate.time(at))
                }
                if let note = student.note { w.field("attendanceEventReason", String(note.prefix(255))) }
                w.endObject()
            }
        }
        w.endArray()
        return w.bytes
    }

    /// Ed-Fi identifies a section by school, school year, session, course code and section id; a
    /// class opened without a course knows only its own id, so the rest is left out (such documents
    /// need the SIS to know the section by that id).
    private static func sectionReference(_ w: inout JSONWriter, _ session: SessionExport) {
        w.beginObject()
        if let course = session.course {
            w.field("localCourseCode", course.classCode.isEmpty ? course.id : course.classCode)
            if let school = Int64(course.schoolNumber) { w.field("schoolId", school) }
            if let year = Int64(course.schoolYear) { w.field("schoolYear", year) }
            w.field("sectionIdentifier", course.id)
            if !course.termTitle.isEmpty { w.field("sessionName", course.termTitle) }
        } else {
            w.field("sectionIdentifier", session.classId)
        }
        w.endObject()
    }

    public static let csvHeader = "class_id,course_id,class_name,teacher_id,date,start_ms,student_id,name,status,at_ms,method,by,note"

    /// One row per student and session, RFC 4180 with the attendance CSV's formula guard.
    public static func csv(_ sessions: [SessionExport]) -> [UInt8] {
        var out = Array((csvHeader + "\r\n").utf8)
        for session in sessions {
            for student in session.students where student.status != .unmarked {
                let cells = [session.classId, session.course?.id ?? "", session.name, session.teacherId,
                             ReportDate.date(session.startMs), String(session.startMs), student.studentId, student.name ?? "",
                             student.status.rawValue, student.atMs.map(String.init) ?? "", student.method ?? "",
                             student.by ?? "", student.note ?? ""]
                for (index, cell) in cells.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    CSVExport.appendCell(cell, to: &out)
                }
                out.append(contentsOf: "\r\n".utf8)
            }
        }
        return out
    }
}
