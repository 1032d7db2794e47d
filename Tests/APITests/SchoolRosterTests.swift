@testable import API
import Attendance
import Foundation
import JSON
import TestSupport
import XCTest

/// OneRoster import over `POST /v1/rosters:import` and `attendance roster import`, sessions opened
/// from courses, and the Ed-Fi export, against a real Redis.
final class SchoolRosterTests: APITestCase {
    func testSampleBundleImportsAndTeachersOpenTheirCourses() throws {
        let response = importBundle(try SchoolFixtures.sampleFiles())
        XCTAssertEqual(response.status, 200, response.bodyText)
        let summary = json(response)
        XCTAssertEqual(summary["orgs"]?.int, 3)
        XCTAssertEqual(summary["terms"]?.int, 3)
        XCTAssertEqual(summary["courses"]?.int, 20)
        XCTAssertEqual(summary["teachers"]?.int, 24)
        XCTAssertEqual(summary["students"]?.int, 500)
        XCTAssertEqual(summary["enrollments"]?.int, 2026)

        let opened = createClass(#"{"course_id":"sec-1-01"}"#, as: token(.teacher, "t-101"))
        XCTAssertEqual(opened["name"]?.string, "Algebra I")
        XCTAssertEqual(opened["teacher_id"]?.string, "t-101")
        XCTAssertEqual(opened["late_after_s"]?.int, 300, "the course's late rule")
        let rosterSize = Int(try XCTUnwrap(opened["roster_size"]?.int))
        XCTAssertGreaterThan(rosterSize, 100)
        let defaultLate = createClass(#"{"course_id":"sec-1-02","duration_s":1800}"#, as: token(.teacher, "t-102"))
        XCTAssertEqual(defaultLate["late_after_s"]?.int, 600)
        XCTAssertEqual(defaultLate["duration_s"]?.int, 1800)

        // Another teacher may not open it; an admin may, and the session is still the course teacher's.
        assertError(request("POST", "/v1/classes", token: token(.teacher, "t-102"), json: #"{"course_id":"sec-1-01"}"#), 403, "forbidden")
        let byAdmin = createClass(#"{"course_id":"sec-1-01"}"#, as: admin)
        XCTAssertEqual(byAdmin["teacher_id"]?.string, "t-101")
        assertError(request("POST", "/v1/classes", token: admin, json: #"{"course_id":"no-such-course"}"#), 404, "not_found")
        assertError(request("POST", "/v1/classes", token: token(.teacher, "t-101"), json: #"{"course_id":"sec-1-01","name":"x"}"#),
                    400, "bad_request")

        // The roster is the course's, so the attendance list names its students.
        let classId = try XCTUnwrap(opened["class_id"]?.string)
        let rows = json(request("GET", "/v1/classes/\(classId)/attendance", token: token(.teacher, "t-101")))["students"]?.array ?? []
        XCTAssertEqual(rows.count, rosterSize)
        let ids = rows.compactMap { $0["student_id"]?.string }
        XCTAssertEqual(ids.filter { $0.hasPrefix("s-") }.count, rosterSize)

        // Importing the same bundle again changes nothing.
        let again = importBundle(try SchoolFixtures.sampleFiles())
        XCTAssertEqual(again.status, 200, again.bodyText)
        XCTAssertEqual(json(again)["courses_deactivated"]?.int, 0)
        let reopened = createClass(#"{"course_id":"sec-1-01"}"#, as: token(.teacher, "t-101"))
        XCTAssertEqual(reopened["roster_size"]?.int, Int64(rosterSize))
    }

    func testOnlyAdminsImportAndABadRowWritesNothing() throws {
        let p = SchoolFixtures.prefix()
        var files = SchoolFixtures.mini(p, students: ["\(p)-s1", "\(p)-s2"])
        assertError(importBundle(files, as: token(.teacher, "\(p)-t")), 403, "forbidden")

        // Line 4 of users.csv (header, two teachers, then the first student) has an unknown role.
        let users = String(decoding: files["users.csv"]!, as: UTF8.self)
        files["users.csv"] = Array(users.replacingOccurrences(of: ",student,\(p)-s1-user", with: ",pupil,\(p)-s1-user").utf8)
        let message = assertError(importBundle(files), 400, "bad_request")
        XCTAssertTrue(message.hasPrefix("users.csv:4: role 'pupil' must be one of"), message)
        assertError(request("POST", "/v1/classes", token: token(.teacher, "\(p)-t"), json: #"{"course_id":"\#(p)-sec"}"#), 404, "not_found")

        // A missing file, a missing column, a reference to nothing, a duplicate SSO id.
        var missing = SchoolFixtures.mini(p, students: ["\(p)-s1"])
        missing["orgs.csv"] = nil
        XCTAssertEqual(assertError(importBundle(missing), 400, "bad_request"), "orgs.csv: missing from the bundle")
        var noColumn = SchoolFixtures.mini(p, students: ["\(p)-s1"])
        noColumn["enrollments.csv"] = Array("sourcedId,status,classSourcedId\r\n".utf8)
        XCTAssertEqual(assertError(importBundle(noColumn), 400, "bad_request"), "enrollments.csv:1: missing column schoolSourcedId")
        var dangling = SchoolFixtures.mini(p, students: ["\(p)-s1"])
        dangling["enrollments.csv"]! += Array("\(p)-e-x,active,,\(p)-sec,\(p)-org,\(p)-ghost,student,false,,\r\n".utf8)
        XCTAssertTrue(assertError(importBundle(dangling), 400, "bad_request").hasPrefix("enrollments.csv:4: userSourcedId '\(p)-ghost'"))
        var twins = SchoolFixtures.mini(p, students: ["\(p)-s1"])
        twins["users.csv"]! += Array("\(p)-s9,active,,true,\(p)-org,student,u9,,A,B,,,\(p)-S1@students.example,,,,,\r\n".utf8)
        XCTAssertTrue(assertError(importBundle(twins), 400, "bad_request").hasPrefix("users.csv:5: '\(p)-s1@students.example' names the user of line 4"))
        XCTAssertTrue(assertError(request("POST", "/v1/rosters:import", token: admin, json: "{}"), 400, "bad_request").contains("multipart"))

        // Fixed, the same bundle imports, and its people carry names and the SSO identifier.
        XCTAssertEqual(importBundle(SchoolFixtures.mini(p, students: ["\(p)-s1", "\(p)-s2"])).status, 200)
        var person: [String: String]??
        server.store.person(id: "\(p)-s1") { person = try? $0.get() }
        XCTAssertTrue(runLoop(loop) { person != nil })
        XCTAssertEqual(person??["name"], "Stu Dent \(p)-s1")
        XCTAssertEqual(person??["sso_id"], "\(p)-s1@students.example")
        var owner: String??
        server.redis.send(["GET", Keys.sso("\(p)-s1@students.example")]) { owner = (try? $0.get())?.text }
        XCTAssertTrue(runLoop(loop) { owner != nil })
        XCTAssertEqual(owner, "\(p)-s1")
    }

    func testReimportAppliesChangesAndDroppedStudentsLeaveFutureRostersOnly() throws {
        let p = SchoolFixtures.prefix()
        let teacher = token(.teacher, "\(p)-t")
        XCTAssertEqual(importBundle(SchoolFixtures.mini(p, students: ["\(p)-s1", "\(p)-s2"], extraClasses: ["sec2"])).status, 200)
        let before = createClass(#"{"course_id":"\#(p)-sec"}"#, as: teacher)
        XCTAssertEqual(before["roster_size"]?.int, 2)
        XCTAssertEqual(before["late_after_s"]?.int, 120)

        // s2 leaves the section, sec2 leaves the bundle, the late rule changes.
        let second = importBundle(SchoolFixtures.mini(p, students: ["\(p)-s1"], lateAfterS: "60"))
        XCTAssertEqual(second.status, 200, second.bodyText)
        XCTAssertEqual(json(second)["courses_deactivated"]?.int, 1)
        let after = createClass(#"{"course_id":"\#(p)-sec"}"#, as: teacher)
        XCTAssertEqual(after["roster_size"]?.int, 1)
        XCTAssertEqual(after["late_after_s"]?.int, 60)
        assertError(request("POST", "/v1/classes", token: teacher, json: #"{"course_id":"\#(p)-sec2"}"#), 409, "conflict")

        // The session opened before keeps the student it was opened with.
        let oldId = try XCTUnwrap(before["class_id"]?.string)
        XCTAssertNotNil(attendanceRow(oldId, "\(p)-s2", teacher: teacher))
        XCTAssertNil(attendanceRow(try XCTUnwrap(after["class_id"]?.string), "\(p)-s2", teacher: teacher))
    }

    func testEdfiExportMapsStatusesAndSectionReferences() throws {
        let p = SchoolFixtures.prefix()
        let teacher = token(.teacher, "\(p)-t")
        let students = ["\(p)-s1", "\(p)-s2", "\(p)-s3", "\(p)-s4"]
        XCTAssertEqual(importBundle(SchoolFixtures.mini(p, students: students)).status, 200)
        let classId = try XCTUnwrap(createClass(#"{"course_id":"\#(p)-sec"}"#, as: teacher)["class_id"]?.string)
        let qr = qr(classId: classId, window: currentWindow())
        let joined = join(#""qr":"\#(qr)""#, student: "\(p)-s1")
        XCTAssertEqual(joined.status, 200, joined.bodyText)
        XCTAssertEqual(request("PATCH", "/v1/classes/\(classId)/attendance/\(p)-s2", token: teacher,
                               json: #"{"status":"late"}"#).status, 200)
        XCTAssertEqual(request("PATCH", "/v1/classes/\(classId)/attendance/\(p)-s3", token: teacher,
                               json: #"{"status":"excused","note":"dentist"}"#).status, 200)
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/close", token: teacher).status, 200)

        let response = request("GET", "/v1/classes/\(classId)/attendance?format=edfi", token: teacher)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let documents = json(response).array ?? []
        XCTAssertEqual(documents.count, 4)
        var category: [String: String] = [:]
        for document in documents {
            let student = document["studentReference"]?["studentUniqueId"]?.string ?? ""
            category[student] = document["attendanceEventCategoryDescriptor"]?.string
            let section = document["sectionReference"]
            XCTAssertEqual(section?["sectionIdentifier"]?.string, "\(p)-sec")
            XCTAssertEqual(section?["localCourseCode"]?.string, "CHEM2")
            XCTAssertEqual(section?["schoolId"]?.int, 4242)
            XCTAssertEqual(section?["schoolYear"]?.int, 2027)
            XCTAssertEqual(section?["sessionName"]?.string, "Fall 2026")
            XCTAssertEqual(document["eventDate"]?.string, ReportDate.date(clock.now()))
        }
        let base = "uri://ed-fi.org/AttendanceEventCategoryDescriptor#"
        XCTAssertEqual(category, ["\(p)-s1": base + "In Attendance", "\(p)-s2": base + "Tardy",
                                  "\(p)-s3": base + "Excused Absence", "\(p)-s4": base + "Unexcused Absence"])
        let present = documents.first { $0["studentReference"]?["studentUniqueId"]?.string == "\(p)-s1" }
        XCTAssertEqual(present?["arrivalTime"]?.string?.count, 8)
        XCTAssertEqual(documents.first { $0["studentReference"]?["studentUniqueId"]?.string == "\(p)-s3" }?["attendanceEventReason"]?.string,
                       "dentist")
        assertError(request("GET", "/v1/classes/\(classId)/attendance?format=edfi", token: token(.teacher, "\(p)-t2")), 403, "forbidden")
    }

    func testCommandLineImportsBundlesAndExportsClosedSessions() throws {
        let p = SchoolFixtures.prefix()
        let directory = NSTemporaryDirectory() + "/roster-\(p)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var files = SchoolFixtures.mini(p, students: ["\(p)-s1", "\(p)-s2"])
        files["classes.csv"] = Array(String(decoding: files["classes.csv"]!, as: UTF8.self)
            .replacingOccurrences(of: ",scheduled,", with: ",lecture,").utf8)
        for (name, bytes) in files { _ = FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes)) }
        let bad = try runAttendance(["roster", "import", directory])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("classes.csv:2: classType 'lecture' must be one of homeroom, scheduled; nothing was imported"), bad.stderr)

        _ = FileManager.default.createFile(atPath: directory + "/classes.csv",
                                       contents: Data(SchoolFixtures.mini(p, students: [])["classes.csv"]!))
        let good = try runAttendance(["roster", "import", directory])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(good.stdout.contains("imported 1 course(s), 2 teacher(s), 2 student(s), 3 enrollment(s)"), good.stdout)

        let teacher = token(.teacher, "\(p)-t")
        let classId = try XCTUnwrap(createClass(#"{"course_id":"\#(p)-sec"}"#, as: teacher)["class_id"]?.string)
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/close", token: teacher).status, 200)
        let output = directory + "/export.json"
        let export = try runAttendance(["export", "--since", ReportDate.date(clock.now()), "--format", "edfi", "--output", output])
        XCTAssertEqual(export.status, 0, export.stderr)
        let documents = try JSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: output)))).array ?? []
        let mine = documents.filter { $0["sectionReference"]?["sectionIdentifier"]?.string == "\(p)-sec" }
        XCTAssertEqual(mine.count, 2)
        XCTAssertTrue(mine.allSatisfy { $0["attendanceEventCategoryDescriptor"]?.string?.hasSuffix("#Unexcused Absence") == true })

        let csvPath = directory + "/export.csv"
        XCTAssertEqual(try runAttendance(["export", "--since", ReportDate.date(clock.now()), "--output", csvPath]).status, 0)
        let csv = try String(contentsOfFile: csvPath, encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix(SchoolExport.csvHeader + "\r\n"))
        XCTAssertTrue(csv.contains("\(classId),\(p)-sec,\"Chemistry, Period 2\",\(p)-t,"), csv)
        XCTAssertNotEqual(try runAttendance(["export", "--since", "2026-02-30"]).status, 0)
    }

    /// The committed sample is what its script writes, and the command line imports it.
    func testSampleBundleMatchesItsGeneratorAndImportsFromTheCommandLine() throws {
        let directory = NSTemporaryDirectory() + "/sample-\(SchoolFixtures.prefix())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = URL(fileURLWithPath: SchoolFixtures.sampleDirectory).deletingLastPathComponent()
            .appendingPathComponent("make-oneroster-sample.py").path
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", script, directory]
        try python.run()
        python.waitUntilExit()
        XCTAssertEqual(python.terminationStatus, 0)
        for name in RosterBundle.files + ["manifest.csv"] {
            XCTAssertEqual(FileManager.default.contents(atPath: directory + "/" + name),
                           FileManager.default.contents(atPath: SchoolFixtures.sampleDirectory + "/" + name), name)
        }
        let result = try runAttendance(["roster", "import", SchoolFixtures.sampleDirectory])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("imported 20 course(s), 24 teacher(s), 500 student(s), 2026 enrollment(s) from 3 org(s) and 3 term(s)"),
                      result.stdout)
    }

    func testMalformedMultipartBodiesAreRefused() {
        func message(_ body: String, boundary: String = "b") -> String {
            assertError(request("POST", "/v1/rosters:import", token: admin, body: Array(body.utf8),
                                headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"]), 400, "bad_request")
        }
        let part = "--b\r\nContent-Disposition: form-data; name=\"orgs.csv\"\r\n\r\nx\r\n"
        XCTAssertEqual(message("no parts here"), "The multipart body has no part")
        XCTAssertEqual(message(part), "The multipart body does not end with its boundary")
        XCTAssertEqual(message("--b\r\nContent-Disposition: form-data; name=\"orgs.csv\"\r\nx--b--"), "Malformed multipart part headers")
        XCTAssertEqual(message(part + part + "--b--\r\n"), "orgs.csv is sent twice")
        XCTAssertEqual(message("--b\r\nContent-Type: text/csv\r\n\r\nx\r\n--b--\r\n"), "A multipart part has no name")
        let many = (0..<17).map { "--b\r\nContent-Disposition: form-data; name=\"f\($0)\"\r\n\r\nx\r\n" }.joined() + "--b--\r\n"
        XCTAssertEqual(message(many), "At most 16 files")
        XCTAssertEqual(message(part + "--b--\r\n"), "academicSessions.csv: missing from the bundle")
        XCTAssertTrue(message("--b--", boundary: "").hasPrefix("Send the bundle's CSV files as multipart/form-data"))
    }

    // MARK: - Helpers

    func attendanceRow(_ classId: String, _ student: String, teacher: String) -> JSONValue? {
        let list = json(request("GET", "/v1/classes/\(classId)/attendance", token: teacher))
        return list["students"]?.array?.first { $0["student_id"]?.string == student }
    }
}
