import Attendance

/// The attendance list as CSV (`GET …/attendance?format=csv`): RFC 4180 (CRLF line ends, fields with
/// a comma, quote or line break quoted, quotes doubled) with the header
/// `student_id,name,status,at_ms,method,by,flags,device` and one row per roster or joined student.
/// `flags` holds the check-in's flags separated by spaces; new columns only ever go at the end, so
/// readers that pick columns by header name or position keep working.
///
/// Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula (tab and CR too, in
/// some), and student names are typed by students: such cells get a leading `'`, which spreadsheets
/// show as text (OWASP "CSV Injection").
enum CSVExport {
    static let header = "student_id,name,status,at_ms,method,by,flags,device"

    static func render(_ records: [StudentRecord]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(header.utf8.count + 2 + records.count * 64)
        out.append(contentsOf: header.utf8)
        out.append(contentsOf: "\r\n".utf8)
        for record in records {
            appendCell(record.studentId, to: &out)
            out.append(UInt8(ascii: ","))
            appendCell(record.name ?? "", to: &out)
            out.append(UInt8(ascii: ","))
            appendCell(record.status.rawValue, to: &out)
            out.append(UInt8(ascii: ","))
            if let at = record.atMs { out.append(contentsOf: String(at).utf8) }
            out.append(UInt8(ascii: ","))
            appendCell(record.method ?? "", to: &out)
            out.append(UInt8(ascii: ","))
            appendCell(record.by ?? "", to: &out)
            out.append(UInt8(ascii: ","))
            appendCell(record.flags.joined(separator: " "), to: &out)
            out.append(UInt8(ascii: ","))
            appendCell(record.device ?? "", to: &out)
            out.append(contentsOf: "\r\n".utf8)
        }
        return out
    }

    /// Personal join links (`GET …/links?format=csv`): `student_id,name,link`.
    static func renderLinks(_ links: [PersonalLink], publicBase: String) -> [UInt8] {
        var out = Array("student_id,name,link\r\n".utf8)
        for link in links {
            appendCell(link.studentId, to: &out)
            out.append(UInt8(ascii: ","))
            appendCell(link.name ?? "", to: &out)
            out.append(UInt8(ascii: ","))
            appendCell(publicBase + JoinLink.path(token: link.linkToken), to: &out)
            out.append(contentsOf: "\r\n".utf8)
        }
        return out
    }

    static func appendCell(_ text: String, to out: inout [UInt8]) {
        let bytes = text.utf8
        let guarded = bytes.first.map(isFormulaStart) ?? false
        let needsQuotes = bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
        if guarded { out.append(UInt8(ascii: "'")) }
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
    }

    private static func isFormulaStart(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D: true
        default: false
        }
    }
}
