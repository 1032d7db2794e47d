@testable import Attendance
import XCTest

/// The OneRoster CSV reader: RFC 4180 quoting, line numbers that count lines inside quotes, bounds.
final class RosterCSVTests: XCTestCase {
    func testQuotingLineEndsAndByteOrderMark() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"two, \"\"quoted\"\"\",3\n\n\"multi\nline\",x,\"\"\r\nlast,row,here"
        let csv = try RosterCSV(Array(text.utf8), file: "t.csv")
        XCTAssertEqual(csv.header, ["a", "b", "c"])
        XCTAssertEqual(csv.rows.map(\.fields), [["1", "two, \"quoted\"", "3"], ["multi\nline", "x", ""], ["last", "row", "here"]])
        XCTAssertEqual(csv.rows.map(\.line), [2, 4, 6], "lines count the empty line and the line break inside quotes")
    }

    /// Random fields (commas, quotes, line breaks, non-ASCII), written the RFC 4180 way with either
    /// line end, read back unchanged.
    func testRandomTablesRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", "0", ",", "\"", "\n", "\r\n", " ", "é", "名", "-", "'"]
        for _ in 0..<300 {
            let columns = Int.random(in: 1...6, using: &generator)
            let rows = (0...Int.random(in: 1...8, using: &generator)).map { _ in
                (0..<columns).map { _ in String((0..<Int.random(in: 0...6, using: &generator)).map { _ in alphabet.randomElement()! }) }
            }
            let lineEnd = Bool.random() ? "\r\n" : "\n"
            let text = rows.map { row in
                row.map { field in
                    field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) || field.isEmpty
                        ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
                }.joined(separator: ",")
            }.joined(separator: lineEnd) + lineEnd
            let csv = try RosterCSV(Array(text.utf8), file: "r.csv")
            XCTAssertEqual([csv.header] + csv.rows.map(\.fields), [rows[0].map { $0.trimmingSpaces }] + rows.dropFirst(), text)
        }
    }

    func testMalformedFilesNameTheLine() {
        func error(_ text: String) -> String {
            do {
                _ = try RosterCSV(Array(text.utf8), file: "f.csv")
                return "no error"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(error(""), "f.csv:1: the file is empty; expected a header row")
        XCTAssertEqual(error("a,b\n1,2\n3\n"), "f.csv:3: 1 fields; the header has 2")
        XCTAssertEqual(error("a,b\n1,\"open\n"), "f.csv:2: a quoted field is not closed")
        XCTAssertEqual(error("a,b\n1,x\"y\n"), "f.csv:2: a quote inside an unquoted field (quote the whole field and double the quote)")
        XCTAssertEqual(error("a,b\n1,\"x\"y\n"), "f.csv:2: text after a closing quote")
        XCTAssertEqual(error("a\n" + String(repeating: "x", count: 5000) + "\n"), "f.csv:2: a field is longer than 4096 bytes")
        XCTAssertThrowsError(try RosterCSV([0x61, 0x0A, 0xFF, 0x0A], file: "f.csv"))
    }

    func testDates() {
        XCTAssertEqual(ReportDate.parse("1970-01-02"), 86_400_000)
        XCTAssertEqual(ReportDate.parse("2024-02-29").map(ReportDate.date), "2024-02-29")
        XCTAssertNil(ReportDate.parse("2023-02-29"))
        XCTAssertNil(ReportDate.parse("2023-13-01"))
        XCTAssertNil(ReportDate.parse("23-01-01"))
        XCTAssertEqual(ReportDate.date(1_767_225_599_000), "2025-12-31")
        XCTAssertEqual(ReportDate.time(1_767_225_599_000), "23:59:59")
    }
}
