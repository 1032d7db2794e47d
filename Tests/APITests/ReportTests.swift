@testable import API
import Attendance
import EventLoop
import Foundation
import JSON
import RedisClient
import TestSupport
import XCTest

/// Chronic-absence reports and student summaries over closed classes in a real Redis.
final class ReportTests: APITestCase {
    /// 20 sessions of one teacher, in order: r1 always present; r2 absent once (5 %: at risk);
    /// r3 absent in sessions 5–7 and excused in the last (20 %: chronic, streaks 3 and 1); r4 absent
    /// in the last two (10 %: chronic, current streak 2).
    func testTiersStreaksAndWhoMaySeeWhat() throws {
        let p = SchoolFixtures.prefix()
        let teacherId = "\(p)-t"
        let teacher = token(.teacher, teacherId)
        let (r1, r2, r3, r4) = ("\(p)-r1", "\(p)-r2", "\(p)-r3", "\(p)-r4")
        var classIds: [String] = []
        for session in 1...20 {
            let created = createClass(#"{"name":"Homeroom","roster":["\#(r1)","\#(r2)","\#(r3)","\#(r4)"]}"#, as: teacher)
            let classId = try XCTUnwrap(created["class_id"]?.string)
            classIds.append(classId)
            var present = [r1]
            if session != 10 { present.append(r2) }
            if !(5...7).contains(session) && session != 20 { present.append(r3) }
            if session < 19 { present.append(r4) }
            let ids = present.map { "\"\($0)\"" }.joined(separator: ",")
            XCTAssertEqual(request("POST", "/v1/classes/\(classId)/attendance:bulk", token: teacher,
                                   json: #"{"student_ids":[\#(ids)],"status":"present"}"#).status, 200)
            if session == 20 {
                XCTAssertEqual(request("PATCH", "/v1/classes/\(classId)/attendance/\(r3)", token: teacher,
                                       json: #"{"status":"excused"}"#).status, 200)
            }
            XCTAssertEqual(request("POST", "/v1/classes/\(classId)/close", token: teacher).status, 200)
            clock.offsetMs += 1  // distinct start times, in order
        }
        let today = ReportDate.date(clock.now())
        let path = "/v1/reports/chronic-absence?from=\(today)&to=\(today)"

        let report = json(request("GET", path, token: teacher))
        XCTAssertEqual(report["sessions"]?.int, 20)
        let rows = report["students"]?.array ?? []
        XCTAssertEqual(rows.map { $0["student_id"]?.string ?? "" }, [r3, r4, r2, r1], "most absent first")
        func row(_ id: String) -> JSONValue? { rows.first { $0["student_id"]?.string == id } }
        XCTAssertEqual(row(r1)?["tier"]?.string, "on_track")
        XCTAssertEqual(row(r1)?["present"]?.int, 20)
        XCTAssertEqual(row(r2)?["tier"]?.string, "at_risk")
        XCTAssertEqual(row(r2)?["absence_rate"]?.double, 0.05)
        XCTAssertEqual(row(r3)?["tier"]?.string, "chronic")
        XCTAssertEqual(row(r3)?["absent"]?.int, 3)
        XCTAssertEqual(row(r3)?["excused"]?.int, 1)
        XCTAssertEqual(row(r3)?["longest_streak"]?.int, 3)
        XCTAssertEqual(row(r3)?["current_streak"]?.int, 1)
        XCTAssertEqual(row(r4)?["tier"]?.string, "chronic")
        XCTAssertEqual(row(r4)?["current_streak"]?.int, 2)

        let csv = request("GET", path + "&format=csv", token: teacher)
        XCTAssertEqual(csv.headers["Content-Type"], "text/csv; charset=utf-8; header=present")
        let lines = csv.bodyText.components(separatedBy: "\r\n")
        XCTAssertEqual(lines.first, ResponseEncoding.chronicAbsenceHeader)
        XCTAssertEqual(lines[1], "\(r3),,20,16,0,3,1,0.2,chronic,3,1")

        // Another teacher's report has none of these; an admin's has them all.
        XCTAssertEqual(json(request("GET", path, token: token(.teacher, "\(p)-other")))["students"]?.array?.count, 0)
        let adminRows = json(request("GET", path, token: admin))["students"]?.array ?? []
        XCTAssertEqual(adminRows.filter { ($0["student_id"]?.string ?? "").hasPrefix(p) }.count, 4)

        // The summary reads the per-student index, which the after-close work fills.
        XCTAssertTrue(runLoop(loop, timeoutMs: 5000) {
            self.json(self.request("GET", "/v1/students/\(r3)/summary", token: teacher))["sessions"]?.int == 20
        })
        let summary = json(request("GET", "/v1/students/\(r3)/summary?from=\(today)", token: teacher))
        XCTAssertEqual(summary["tier"]?.string, "chronic")
        XCTAssertEqual(summary["class_ids"]?.array?.compactMap(\.string), classIds)
        XCTAssertEqual(request("GET", "/v1/students/\(r3)/summary", token: token(.student, r3, classId: classIds[0])).status, 200)
        XCTAssertEqual(request("GET", "/v1/students/\(r3)/summary", token: admin).status, 200)
        assertError(request("GET", "/v1/students/\(r3)/summary", token: token(.student, r1, classId: classIds[0])), 403, "forbidden")
        assertError(request("GET", "/v1/students/\(r3)/summary", token: token(.teacher, "\(p)-other")), 403, "forbidden")

        // A correction after the close shows at once: the report reads the classes, not a copy.
        XCTAssertEqual(request("PATCH", "/v1/classes/\(classIds[5])/attendance/\(r3)", token: teacher,
                               json: #"{"status":"present"}"#).status, 200)
        let corrected = json(request("GET", "/v1/students/\(r3)/summary", token: teacher))
        XCTAssertEqual(corrected["longest_streak"]?.int, 1)
        XCTAssertEqual(corrected["tier"]?.string, "chronic")

        assertError(request("GET", "/v1/reports/chronic-absence?from=\(today)", token: teacher), 400, "bad_request")
        assertError(request("GET", "/v1/reports/chronic-absence?from=2026-13-01&to=\(today)", token: teacher), 400, "bad_request")
        assertError(request("GET", "/v1/reports/chronic-absence?from=2026-02-01&to=2026-01-01", token: teacher), 400, "bad_request")
        assertError(request("GET", "/v1/reports/chronic-absence?from=2020-01-01&to=2026-01-01", token: teacher), 400, "bad_request")
        assertError(request("GET", path, token: token(.student, r1, classId: classIds[0])), 403, "forbidden")
    }

    /// 1,000 students × 180 closed sessions, written in the stores' own layout (the scripts would
    /// take minutes to build it); the report must count all of them. The time goes to BENCHMARKS.md.
    func testChronicAbsenceReportOverASchoolYear() throws {
        let p = SchoolFixtures.prefix()
        let students = (0..<1000).map { "\(p)-s\($0)" }
        let teacher = "\(p)-bench"
        // A school year long past, so other tests' reports never include it.
        let yearStart = try XCTUnwrap(ReportDate.parse("2019-09-02"))
        var keys: [String] = []
        var commands: [[String]] = []
        for session in 0..<180 {
            let classId = "\(p)-c\(session)"
            let start = yearStart + Int64(session) * 86_400_000
            commands.append(["HSET", Keys.meta(classId), "class_id", classId, "name", "Bench", "teacher_id", teacher,
                             "start_ms", String(start), "closes_at_ms", String(start + 3_600_000), "closed_at_ms",
                             String(start + 3_600_000), "late_after_s", "600", "state", "closed"])
            var records = ["HSET", Keys.students(classId)]
            for (index, sid) in students.enumerated() {
                // Student i misses every (i % 20 + 1)-th session: rates from 100 % down to 5 %.
                let status = session % (index % 20 + 1) == 0 ? "absent" : "present"
                records += [sid, #"{"status":"\#(status)","at":"\#(start)","method":"close","by":"system"}"#]
            }
            commands.append(records)
            commands.append(["SADD", Keys.known(classId)] + students)
            commands.append(["ZADD", Keys.retained, String(start + 3_600_000), classId])
            keys += [Keys.meta(classId), Keys.students(classId), Keys.known(classId)]
        }
        let redis = server.redis
        // One command at a time: pipelined, the last of these large writes could wait past the
        // client's command timeout on a slow (sanitizer) build, which drops the connection.
        var answered = 0
        var failures: [String] = []
        func send(_ index: Int) {
            guard index < commands.count else { return }
            redis.send(commands[index]) { result in
                if case .failure(let error) = result { failures.append("\(error)") }
                answered += 1
                send(index + 1)
            }
        }
        send(0)
        XCTAssertTrue(runLoop(loop, timeoutMs: 120_000) { answered == commands.count })
        XCTAssertEqual(failures, [])
        defer {
            var cleaned = false
            redis.send(["DEL"] + keys) { _ in
                redis.send(["ZREM", Keys.retained] + (0..<180).map { "\(p)-c\($0)" }) { _ in cleaned = true }
            }
            _ = runLoop(loop, timeoutMs: 30_000) { cleaned }
        }

        var result: Result<(sessions: Int, students: [AttendancePattern]), AttendanceError>?
        let started = EventLoop.monotonicNs()
        server.store.chronicAbsence(fromMs: yearStart, toMs: yearStart + 180 * 86_400_000, actor: .system) { result = $0 }
        XCTAssertTrue(runLoop(loop, timeoutMs: 60_000) { result != nil })
        let elapsedMs = Double(EventLoop.monotonicNs() - started) / 1e6
        let (sessions, patterns) = try XCTUnwrap(result).get()
        XCTAssertEqual(sessions, 180)
        XCTAssertEqual(patterns.count, 1000)
        XCTAssertTrue(patterns.allSatisfy { $0.sessions == 180 })
        XCTAssertEqual(patterns.first?.tier, .chronic)
        XCTAssertEqual(patterns.last?.absent, 9, "every 20th session of 180")
        // The same over HTTP, names and JSON encoding included.
        let httpStarted = EventLoop.monotonicNs()
        let response = request("GET", "/v1/reports/chronic-absence?from=2019-09-02&to=2020-02-28", token: admin)
        let httpMs = Double(EventLoop.monotonicNs() - httpStarted) / 1e6
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(json(response)["students"]?.array?.count, 1000)
        print("chronic-absence report, 1000 students × 180 sessions: store \(String(format: "%.0f", elapsedMs)) ms, "
              + "HTTP \(String(format: "%.0f", httpMs)) ms (\(response.body.count) bytes)")
    }
}
