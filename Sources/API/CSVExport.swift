import Attendance

/// The attendance list as CSV (`GET …/attendance?format=csv`): RFC 4180 (CRLF line ends, fields with
/// a comma, quote or line break quoted, quotes doubled) with the header
/// `student_id,name,status,at_ms,method,by,flags,device,at` and one row per roster or joined student.
/// `at_ms` is epoch milliseconds, for programs; `at` the same moment as ISO 8601 at the reader's UTC
/// offset, for people who open the file in a spreadsheet (last, so readers by position keep working). `flags` holds the check-in's flags
/// separated by spaces; new columns only ever go at the end.
///
/// Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a formula (tab and CR too, in
/// some), and student names are typed by students: such cells get a leading `'`, which spreadsheets
/// show as text (OWASP "CSV Injection").
enum CSVExport {
    static let header = "student_id,name,status,at_ms,method,by,flags,device,at"

    static func render(_ records: [StudentRecord], utcOffsetMin: Int) -> [UInt8] {
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
            out.append(UInt8(ascii: ","))
            if let at = record.atMs { out.append(contentsOf: LocalTime.iso8601(ms: at, offsetMin: utcOffsetMin).utf8) }
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

    /// `attachment` with the file name `<class name> <YYYY-MM-DD>.csv` (the start date at the offset):
    /// an ASCII `filename` for old clients, the exact name as RFC 5987 `filename*`.
    static func contentDisposition(className: String, startMs: Int64, utcOffsetMin: Int) -> String {
        let name = className + " " + LocalTime.date(ms: startMs, offsetMin: utcOffsetMin) + ".csv"
        let ascii = String(name.unicodeScalars.map { scalar -> Character in
            let safe = scalar.isASCII && scalar.value >= 0x20 && scalar.value != 0x7F && !"\"\\/:*?<>|%".unicodeScalars.contains(scalar)
            return safe ? Character(scalar) : "_"
        })
        var encoded = ""
        for byte in name.utf8 {
            let unreserved = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "-._~".utf8.contains(byte)
            encoded += unreserved ? String(UnicodeScalar(byte)) : "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
        }
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
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

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
