/// An RFC 4180 CSV reader for OneRoster files: quoted fields (with doubled quotes and line breaks
/// inside), CRLF or LF line ends, an optional UTF-8 byte-order mark. Every row keeps the line number
/// it starts on, so a validation error can point at it. Bounded: a file with more rows, a row with
/// more fields or a longer field than the limits is refused rather than read into memory.
public struct RosterCSV: Sendable {
    public struct Row: Sendable {
        /// 1-based line of the file the row starts on.
        public let line: Int
        public let fields: [String]
    }

    public let header: [String]
    public let rows: [Row]

    /// A district's users.csv is the largest file: 200,000 rows covers a large district.
    public static let maxRows = 200_000
    static let maxFields = 64
    static let maxFieldBytes = 4096

    /// Parses `bytes`; the first row is the header. Empty lines (outside quotes) are skipped.
    public init(_ bytes: [UInt8], file: String) throws(RosterError) {
        var rows: [Row] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var rowLine = 1
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var inQuotes = false
        var quotedField = false

        func endField() throws(RosterError) {
            guard field.count <= Self.maxFieldBytes else {
                throw RosterError(file: file, line: rowLine, message: "a field is longer than \(Self.maxFieldBytes) bytes")
            }
            guard let text = String(validating: field, as: UTF8.self) else {
                throw RosterError(file: file, line: rowLine, message: "the field is not valid UTF-8")
            }
            fields.append(text)
            field.removeAll(keepingCapacity: true)
            quotedField = false
            guard fields.count <= Self.maxFields else {
                throw RosterError(file: file, line: rowLine, message: "more than \(Self.maxFields) fields")
            }
        }
        func endRow() throws(RosterError) {
            // A line with nothing on it is skipped; `""` alone is a row with one empty field.
            let blank = fields.isEmpty && field.isEmpty && !quotedField
            try endField()
            if !blank {
                guard rows.count < Self.maxRows else {
                    throw RosterError(file: file, line: rowLine, message: "more than \(Self.maxRows) rows")
                }
                rows.append(Row(line: rowLine, fields: fields))
            }
            fields.removeAll(keepingCapacity: true)
        }

        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                guard field.isEmpty, !quotedField else {
                    throw RosterError(file: file, line: line, message: "a quote inside an unquoted field (quote the whole field and double the quote)")
                }
                inQuotes = true
                quotedField = true
            case UInt8(ascii: ","):
                try endField()
            case 0x0D where index < bytes.count && bytes[index] == 0x0A:
                break
            case 0x0A:
                try endRow()
                line += 1
                rowLine = line
            default:
                guard !quotedField else {
                    throw RosterError(file: file, line: line, message: "text after a closing quote")
                }
                field.append(byte)
            }
        }
        guard !inQuotes else { throw RosterError(file: file, line: rowLine, message: "a quoted field is not closed") }
        if !field.isEmpty || !fields.isEmpty || quotedField { try endRow() }
        guard let first = rows.first else { throw RosterError(file: file, line: 1, message: "the file is empty; expected a header row") }
        header = first.fields.map { $0.trimmingSpaces }
        self.rows = Array(rows.dropFirst())
        for row in self.rows where row.fields.count != header.count {
            throw RosterError(file: file, line: row.line, message: "\(row.fields.count) fields; the header has \(header.count)")
        }
    }

    /// The column positions of `required` (and of `optional` where present); a missing required
    /// column is an error on the header line.
    func columns(required: [String], optional: [String] = [], file: String) throws(RosterError) -> [String: Int] {
        var positions: [String: Int] = [:]
        for (index, name) in header.enumerated() where positions[name] == nil { positions[name] = index }
        for name in required where positions[name] == nil {
            throw RosterError(file: file, line: 1, message: "missing column \(name)")
        }
        return positions.filter { required.contains($0.key) || optional.contains($0.key) }
    }
}

/// A bundle that cannot be imported: the file, the line and what is wrong with it.
public struct RosterError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

extension String {
    /// Without leading and trailing spaces and tabs (Foundation-free).
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }),
              let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(scalars[first...last])
    }
}
