@testable import API
import Attendance
import HTTP
import JSON
import XCTest

final class AttendanceEndpointTests: APITestCase {
    func testAttendanceListsRosterAndJoinedStudents() {
        let created = createClass(#"{"name":"A","roster":["s1","s2"]}"#)
        let classId = created["class_id"]!.string!
        let s1 = studentToken(created, student: "s1")
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/checkins", token: s1, json: #"{"qr":"\#(created["qr"]!.string!)"}"#).status, 200)
        let response = request("GET", "/v1/classes/\(classId)/attendance", token: teacher)
        XCTAssertEqual(response.status, 200)
        let body = json(response)
        XCTAssertEqual(body["class_id"]?.string, classId)
        XCTAssertEqual(body["state"], "open")
        let students = body["students"]!.array!
        XCTAssertEqual(students.map { $0["student_id"]!.string! }.sorted(), ["s1", "s2"])
        let first = students.first { $0["student_id"] == "s1" }!
        XCTAssertEqual(first["status"], "present")
        XCTAssertEqual(first["method"], "qr")
        XCTAssertNotEqual(first["at_ms"], .null)
        XCTAssertEqual(first["by"], .null)
        let second = students.first { $0["student_id"] == "s2" }!
        XCTAssertEqual(second["status"], "unmarked")
        XCTAssertEqual(second["at_ms"], .null)
        XCTAssertEqual(Set(second.object!.keys), ["student_id", "name", "status", "at_ms", "method", "by", "note", "rejoins",
                                                  "flags", "device", "client_time_ms"])
        XCTAssertEqual(second["rejoins"], 0)

        assertError(request("GET", "/v1/classes/\(classId)/attendance", token: token(.teacher, "t2")), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)/attendance", token: s1), 403, "forbidden")
        assertError(request("GET", "/v1/classes/c_nothere/attendance", token: teacher), 404, "not_found")
        assertError(request("GET", "/v1/classes/\(classId)/attendance?format=xml", token: teacher), 400, "bad_request")
    }

    func testCSVExport() {
        let created = createClass()
        let classId = created["class_id"]!.string!
        let code = created["code"]!.string!
        XCTAssertEqual(request("POST", "/v1/join", json: #"{"code":"\#(code)","student_id":"s1","name":"Lee, \"Ann\""}"#).status, 200)
        XCTAssertEqual(request("POST", "/v1/join", json: #"{"qr":"\#(created["qr"]!.string!)","student_id":"s2","name":"=HYPERLINK(\"x\")"}"#).status, 200)
        XCTAssertEqual(request("POST", "/v1/join", json: #"{"code":"\#(code)","student_id":"-s4","name":"@SUM"}"#).status, 200)
        XCTAssertEqual(join(#""link_token":"\#(created["link_token"]!.string!)""#, student: "s3").status, 200)
        XCTAssertEqual(request("PATCH", "/v1/classes/\(classId)/attendance/s3", token: teacher, json: #"{"status":"excused","note":"doctor"}"#).status, 200)

        let response = request("GET", "/v1/classes/\(classId)/attendance?format=csv&utc_offset_min=-300", token: teacher)
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "text/csv; charset=utf-8; header=present")
        let info = json(request("GET", "/v1/classes/\(classId)", token: teacher))
        let date = LocalTime.date(ms: info["start_ms"]!.int!, offsetMin: -300)
        XCTAssertEqual(response.headers["Content-Disposition"],
                       #"attachment; filename="Algebra \#(date).csv"; filename*=UTF-8''Algebra%20\#(date).csv"#)
        let lines = response.bodyText.components(separatedBy: "\r\n")
        XCTAssertEqual(lines.first, "student_id,name,status,at_ms,method,by,flags,device,at")
        XCTAssertEqual(lines.last, "", "every row ends with CRLF")
        let rows = lines.dropFirst().dropLast()
        XCTAssertEqual(rows.count, 4)
        let list = json(request("GET", "/v1/classes/\(classId)/attendance", token: teacher))["students"]!.array!
        func ms(_ id: String) -> Int64 { list.first { $0["student_id"]?.string == id }!["at_ms"]!.int! }
        func at(_ id: String) -> String { LocalTime.iso8601(ms: ms(id), offsetMin: -300) }
        XCTAssertTrue(at("s2").hasSuffix("-05:00"), at("s2"))
        XCTAssertTrue(rows.contains(#"s1,"Lee, ""Ann""",unmarked,,,,,,"#), rows.joined(separator: "\n"))
        XCTAssertTrue(rows.contains(#"s2,"'=HYPERLINK(""x"")",present,\#(ms("s2")),qr,,,,\#(at("s2"))"#), rows.joined(separator: "\n"))
        XCTAssertTrue(rows.contains("s3,,excused,\(ms("s3")),override,t1,,,\(at("s3"))"), rows.joined(separator: "\n"))
        XCTAssertTrue(rows.contains("'-s4,'@SUM,unmarked,,,,,,"), rows.joined(separator: "\n"))

        // Without an offset the times are UTC; an offset no place has is refused.
        let utc = request("GET", "/v1/classes/\(classId)/attendance?format=csv", token: teacher).bodyText
        XCTAssertTrue(utc.contains(LocalTime.iso8601(ms: ms("s2"), offsetMin: 0)), utc)
        XCTAssertTrue(LocalTime.iso8601(ms: ms("s2"), offsetMin: 0).hasSuffix("Z"))
        for bad in ["841", "-841", "1.5", "x", ""] {
            assertError(request("GET", "/v1/classes/\(classId)/attendance?format=csv&utc_offset_min=\(bad)", token: teacher),
                        400, "bad_request")
        }
    }

    /// Known moments, around the epoch, leap days and far years, at several offsets.
    func testLocalTimes() {
        XCTAssertEqual(LocalTime.iso8601(ms: 0, offsetMin: 0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(LocalTime.iso8601(ms: -1, offsetMin: 0), "1969-12-31T23:59:59Z")
        XCTAssertEqual(LocalTime.iso8601(ms: 951_782_400_000, offsetMin: 0), "2000-02-29T00:00:00Z")
        XCTAssertEqual(LocalTime.iso8601(ms: 1_796_152_776_138, offsetMin: 60), "2026-12-01T20:19:36+01:00")
        XCTAssertEqual(LocalTime.iso8601(ms: 1_796_152_776_138, offsetMin: -570), "2026-12-01T09:49:36-09:30")
        XCTAssertEqual(LocalTime.iso8601(ms: 1_796_152_776_138, offsetMin: 840), "2026-12-02T09:19:36+14:00")
        XCTAssertEqual(LocalTime.iso8601(ms: 4_102_444_800_000, offsetMin: 0), "2100-01-01T00:00:00Z")
        XCTAssertEqual(LocalTime.date(ms: 1_796_152_776_138, offsetMin: -840), "2026-12-01")
    }

    /// The file name keeps the class's name; what old clients cannot take is replaced in `filename`.
    func testCSVFileNames() {
        XCTAssertEqual(CSVExport.contentDisposition(className: #"Bio/Chem "A" 5%"#, startMs: 0, utcOffsetMin: 0),
                       #"attachment; filename="Bio_Chem _A_ 5_ 1970-01-01.csv"; filename*=UTF-8''Bio%2FChem%20%22A%22%205%25%201970-01-01.csv"#)
        XCTAssertEqual(CSVExport.contentDisposition(className: "Ökologie", startMs: 0, utcOffsetMin: 0),
                       #"attachment; filename="_kologie 1970-01-01.csv"; filename*=UTF-8''%C3%96kologie%201970-01-01.csv"#)
    }

    func testCSVCellQuotingAndFormulaGuard() {
        func cell(_ text: String) -> String {
            var out: [UInt8] = []
            CSVExport.appendCell(text, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        XCTAssertEqual(cell("plain"), "plain")
        XCTAssertEqual(cell(""), "")
        XCTAssertEqual(cell("a,b"), #""a,b""#)
        XCTAssertEqual(cell(#"say "hi""#), #""say ""hi""""#)
        XCTAssertEqual(cell("two\nlines"), "\"two\nlines\"")
        XCTAssertEqual(cell("=1+2"), "'=1+2")
        XCTAssertEqual(cell("+1"), "'+1")
        XCTAssertEqual(cell("-1"), "'-1")
        XCTAssertEqual(cell("@cmd"), "'@cmd")
        XCTAssertEqual(cell("\tx"), "'\tx")
        XCTAssertEqual(cell("=A1,B1"), #""'=A1,B1""#)
        XCTAssertEqual(cell("a=b"), "a=b")
    }

    func testOverride() {
        let created = createClass(#"{"name":"A","roster":["s1"]}"#)
        let classId = created["class_id"]!.string!
        let response = request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: teacher, json: #"{"status":"late","note":"bus"}"#)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let body = json(response)
        XCTAssertEqual(body["student_id"], "s1")
        XCTAssertEqual(body["status"], "late")
        XCTAssertEqual(body["changed"], true)
        XCTAssertNotEqual(body["at_ms"], .null)
        let row = attendanceRow(classId, "s1")
        XCTAssertEqual(row?["by"], "t1")
        XCTAssertEqual(row?["note"], "bus")
        XCTAssertEqual(row?["method"], "override")
        XCTAssertEqual(json(request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: teacher, json: #"{"status":"late"}"#))["changed"], false)

        let message = assertError(request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: teacher, json: #"{"status":"sick"}"#), 400, "bad_request")
        XCTAssertTrue(message.contains("status must be one of unmarked, present, late, absent, excused"), message)
        assertError(request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: teacher, json: #"{}"#), 400, "bad_request")
        assertError(request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: teacher, json: #"{"status":"late","note":3}"#), 400, "bad_request")
        XCTAssertTrue(assertError(request("PATCH", "/v1/classes/\(classId)/attendance/bad%20id", token: teacher, json: #"{"status":"late"}"#), 400, "bad_request")
            .contains("student_id"))
        assertError(request("PATCH", "/v1/classes/\(classId)/attendance/nobody", token: teacher, json: #"{"status":"late"}"#), 403, "not_on_roster")
        assertError(request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: token(.teacher, "t2"), json: #"{"status":"late"}"#), 403, "forbidden")
        assertError(request("PATCH", "/v1/classes/\(classId)/attendance/s1", json: #"{"status":"late"}"#), 401, "unauthorized")
        assertError(request("PATCH", "/v1/classes/c_gone/attendance/s1", token: teacher, json: #"{"status":"late"}"#), 404, "not_found")
        assertError(request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: teacher, json: #"{"status":"late""#), 400, "invalid_json")
    }

    func testBulk() {
        let created = createClass(#"{"name":"A","roster":["s1","s2","s3","s4"]}"#)
        let classId = created["class_id"]!.string!
        var response = request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher, json: #"{"student_ids":["s1","s2"],"status":"excused"}"#)
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(json(response)["changed"], ["s1", "s2"])
        XCTAssertEqual(json(response)["count"], 2)

        response = request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher, json: #"{"student_ids":"all_unmarked","status":"absent"}"#)
        XCTAssertEqual(json(response)["changed"], ["s3", "s4"])
        response = request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher, json: #"{"all_unmarked":true,"status":"absent"}"#)
        XCTAssertEqual(json(response)["changed"], [])

        assertError(request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher, json: #"{"status":"absent"}"#), 400, "bad_request")
        assertError(request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher, json: #"{"student_ids":[],"status":"absent"}"#), 400, "bad_request")
        XCTAssertTrue(assertError(request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher, json: #"{"student_ids":["ok","no way"],"status":"absent"}"#), 400, "bad_request")
            .contains("student_ids[1]"))
        assertError(request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher, json: #"{"student_ids":["s1"],"status":"gone"}"#), 400, "bad_request")
        assertError(request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher, json: #"{"student_ids":["s1","stranger"],"status":"present"}"#), 403, "not_on_roster")
        XCTAssertEqual(attendanceRow(classId, "s1")?["status"], "excused", "all or nothing")
        assertError(request("POST", "/v1/classes/\(classId)/attendance:bulk", token: token(.teacher, "t2"), json: #"{"student_ids":["s1"],"status":"present"}"#), 403, "forbidden")
    }

    func testCloseMarksUnmarkedAbsent() {
        let created = createClass(#"{"name":"A","roster":["s1","s2","s3"]}"#)
        let classId = created["class_id"]!.string!
        let s1 = studentToken(created, student: "s1")
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/checkins", token: s1, json: #"{"qr":"\#(created["qr"]!.string!)"}"#).status, 200)
        XCTAssertEqual(request("PATCH", "/v1/classes/\(classId)/attendance/s2", token: teacher, json: #"{"status":"excused"}"#).status, 200)
        assertError(request("POST", "/v1/classes/\(classId)/close", token: token(.teacher, "t2")), 403, "forbidden")
        assertError(request("POST", "/v1/classes/\(classId)/close", token: s1), 403, "forbidden")

        let response = request("POST", "/v1/classes/\(classId)/close", token: teacher)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let body = json(response)
        XCTAssertEqual(body["marked_absent"], 1)
        XCTAssertEqual(body["state"], "closed")
        XCTAssertNotNil(body["closed_at_ms"]?.int)
        XCTAssertEqual(attendanceRow(classId, "s1")?["status"], "present")
        XCTAssertEqual(attendanceRow(classId, "s2")?["status"], "excused")
        XCTAssertEqual(attendanceRow(classId, "s3")?["status"], "absent")
        XCTAssertEqual(attendanceRow(classId, "s3")?["method"], "close")

        let info = json(request("GET", "/v1/classes/\(classId)", token: teacher))
        XCTAssertEqual(info["state"], "closed")
        XCTAssertEqual(info["code"], .null)
        XCTAssertEqual(info["counts"]?["absent"], 1)
        assertError(request("POST", "/v1/classes/\(classId)/close", token: teacher), 409, "class_closed")
        assertError(join(#""link_token":"\#(created["link_token"]!.string!)""#, student: "s3"), 409, "class_closed")
        assertError(join(#""code":"\#(created["code"]!.string!)""#, student: "s3"), 422, "code_invalid")
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: s1, json: #"{"qr":"\#(qr(classId: classId, window: currentWindow()))"}"#),
                    409, "class_closed")
        assertError(request("GET", "/v1/classes/c_gone/close", token: teacher), 405, "bad_request")
        assertError(request("POST", "/v1/classes/c_gone/close", token: teacher), 404, "not_found")
    }

    func testEventsPaging() {
        let created = createClass(#"{"name":"A","roster":["s1","s2","s3"]}"#)
        let classId = created["class_id"]!.string!
        for student in ["s1", "s2", "s3"] { _ = studentToken(created, student: student) }
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/close", token: teacher).status, 200)

        let all = json(request("GET", "/v1/classes/\(classId)/events", token: teacher))
        let events = all["events"]!.array!
        XCTAssertEqual(events.map { $0["event"]!.string! }, ["joined", "joined", "joined", "status_changed", "status_changed", "status_changed", "class_closed"])
        XCTAssertEqual(all["has_more"], false)
        XCTAssertEqual(all["next"], events.last!["offset"])
        XCTAssertTrue(events.allSatisfy { $0["type"] == "event" && $0["class_id"]?.string == classId })

        var collected: [JSONValue] = []
        var since = "0-0"
        while true {
            let page = json(request("GET", "/v1/classes/\(classId)/events?since=\(since)&limit=3", token: teacher))
            collected += page["events"]!.array!
            guard page["has_more"] == true, let next = page["next"]?.string else { break }
            XCTAssertEqual(page["events"]!.array!.count, 3)
            since = next
        }
        XCTAssertEqual(collected, events)

        let afterThird = json(request("GET", "/v1/classes/\(classId)/events?since=\(events[2]["offset"]!.string!)", token: teacher))
        XCTAssertEqual(afterThird["events"]!.array!, Array(events[3...]))
        let atEnd = json(request("GET", "/v1/classes/\(classId)/events?since=\(events.last!["offset"]!.string!)", token: teacher))
        XCTAssertEqual(atEnd["events"], [])
        XCTAssertEqual(atEnd["next"], .null)

        XCTAssertTrue(assertError(request("GET", "/v1/classes/\(classId)/events?since=yesterday", token: teacher), 400, "bad_request").contains("since"))
        XCTAssertTrue(assertError(request("GET", "/v1/classes/\(classId)/events?limit=0", token: teacher), 400, "bad_request").contains("limit"))
        assertError(request("GET", "/v1/classes/\(classId)/events", token: token(.teacher, "t2")), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)/events", token: token(.student, "s1", classId: classId)), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)/events"), 401, "unauthorized")
        assertError(request("GET", "/v1/classes/c_gone/events", token: teacher), 404, "not_found")
    }
}
