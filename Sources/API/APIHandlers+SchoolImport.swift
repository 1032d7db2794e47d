import Attendance
import HTTP
import JSON

extension APIHandlers {
    /// `POST /v1/rosters:import` (admin): the bundle's CSV files as `multipart/form-data`, each part
    /// named (or with a file name) after its file, e.g. `curl -F orgs.csv=@orgs.csv …`. Everything
    /// is validated first; a bad row answers 400 with `file:line: reason` and writes nothing.
    func importRoster(_ exchange: Exchange) {
        guard let actor = authenticate(exchange) else { return }
        guard actor.role == .admin else { return exchange.fail(.forbidden("Only an admin may import rosters")) }
        let files: [String: [UInt8]]
        do throws(APIError) {
            files = try MultipartForm.files(contentType: exchange.request.headers["Content-Type"] ?? "",
                                            body: exchange.request.body)
        } catch {
            return exchange.fail(error)
        }
        let bundle: RosterBundle
        do throws(RosterError) {
            bundle = try RosterBundle(files: files)
        } catch {
            return exchange.fail(.badRequest(error.description))
        }
        store.importRoster(bundle) { result in
            self.reply(exchange, result, Self.importSummary)
        }
    }

    static func importSummary(_ summary: RosterImportSummary) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.field("orgs", summary.orgs)
        w.field("terms", summary.terms)
        w.field("courses", summary.courses)
        w.field("teachers", summary.teachers)
        w.field("students", summary.students)
        w.field("enrollments", summary.enrollments)
        w.field("courses_deactivated", summary.coursesDeactivated)
        w.endObject()
        return w.bytes
    }

    /// `GET /v1/classes/{id}/attendance?format=edfi` (its teacher, admin).
    func edfiAttendance(_ exchange: Exchange, classId: String, actor: Actor) {
        store.sessionExport(classId: classId, actor: actor) { result in
            self.reply(exchange, result) { SchoolExport.edfi([$0]) }
        }
    }
}

/// The files of a `multipart/form-data` body (RFC 7578): part name (or file name) → content.
/// The body is already bounded by the server's body limit; the part count is bounded here.
enum MultipartForm {
    static let maxParts = 16

    static func files(contentType: String, body: [UInt8]) throws(APIError) -> [String: [UInt8]] {
        guard contentType.lowercasedASCIIPrefix(19) == "multipart/form-data",
              let boundary = parameter("boundary", in: contentType), !boundary.isEmpty, boundary.utf8.count <= 70
        else { throw .badRequest("Send the bundle's CSV files as multipart/form-data with a boundary") }
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = find(delimiter, in: body, from: 0) else { throw .badRequest("The multipart body has no part") }
        var files: [String: [UInt8]] = [:]
        while true {
            position += delimiter.count
            if body[position...].starts(with: Array("--".utf8)) { break }
            guard body[position...].starts(with: [0x0D, 0x0A]) else { throw .badRequest("Malformed multipart body") }
            position += 2
            guard let headerEnd = find([0x0D, 0x0A, 0x0D, 0x0A], in: body, from: position) else {
                throw .badRequest("Malformed multipart part headers")
            }
            let headers = String(decoding: body[position..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = find([0x0D, 0x0A] + delimiter, in: body, from: contentStart) else {
                throw .badRequest("The multipart body does not end with its boundary")
            }
            var name = ""
            for line in headers.split(separator: "\r\n") where line.lowercasedASCIIPrefix(20) == "content-disposition:" {
                name = parameter("filename", in: String(line)) ?? parameter("name", in: String(line)) ?? ""
            }
            name = String(name.split(separator: "/").last ?? "")
            guard !name.isEmpty else { throw .badRequest("A multipart part has no name") }
            guard files[name] == nil else { throw .badRequest("\(name.prefix(80)) is sent twice") }
            files[name] = Array(body[contentStart..<next])
            guard files.count <= maxParts else { throw .badRequest("At most \(maxParts) files") }
            position = next + 2
        }
        return files
    }

    /// `key=value` or `key="value"` among the `;`-separated parameters of a header value.
    static func parameter(_ key: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let parts = piece.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, String(parts[0]).trimmed.lowercased() == key else { continue }
            var value = String(parts[1]).trimmed
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

private extension StringProtocol {
    var trimmed: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    func lowercasedASCIIPrefix(_ count: Int) -> String { String(prefix(count)).lowercased() }
}
