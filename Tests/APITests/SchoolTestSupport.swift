import Attendance
import Foundation
import HTTP
import TestSupport
import XCTest

/// Bundles and requests shared by the school-system tests.
enum SchoolFixtures {
    /// The committed sample bundle (Tests/Fixtures/OneRoster, written by make-oneroster-sample.py).
    static var sampleDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/OneRoster").path
    }

    static func sampleFiles() throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in RosterBundle.files {
            files[name] = Array(try Data(contentsOf: URL(fileURLWithPath: sampleDirectory).appendingPathComponent(name)))
        }
        return files
    }

    /// A small bundle whose ids all start with `p` (so tests sharing one Redis do not meet): one
    /// school, one term, one section `<p>-sec` taught by `<p>-t`, with `students` enrolled.
    static func mini(_ p: String, students: [String], extraClasses: [String] = [], lateAfterS: String = "120") -> [String: [UInt8]] {
        let orgs = "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\r\n\(p)-org,active,,Mini School,school,4242,\r\n"
        let terms = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\r\n"
            + "\(p)-term,active,,Fall 2026,term,2026-08-17,2026-12-18,,2027\r\n"
        var classes = "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods,metadata.attendance.lateAfterS\r\n"
        for section in ["sec"] + extraClasses {
            classes += "\(p)-\(section),active,,\"Chemistry, Period 2\",10,\(p)-crs,CHEM2,scheduled,Lab,\(p)-org,\(p)-term,,,2,\(lateAfterS)\r\n"
        }
        var users = "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\r\n"
        users += "\(p)-t,active,,true,\(p)-org,teacher,\(p)-teach,,Marie,Curie,,T1,\(p).teacher@school.example,,,,,\r\n"
        users += "\(p)-t2,active,,true,\(p)-org,teacher,\(p)-teach2,,Other,Teacher,,T2,,,,,,\r\n"
        for s in students {
            users += "\(s),active,,true,\(p)-org,student,\(s)-user,,Stu,\"Dent \(s)\",,,\(s)@students.example,,,,10,\r\n"
        }
        var enrollments = "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\r\n"
        for section in ["sec"] + extraClasses {
            enrollments += "\(p)-e-\(section)-t,active,,\(p)-\(section),\(p)-org,\(p)-t,teacher,true,,\r\n"
            for s in students { enrollments += "\(p)-e-\(section)-\(s),active,,\(p)-\(section),\(p)-org,\(s),student,false,,\r\n" }
        }
        return ["orgs.csv": Array(orgs.utf8), "academicSessions.csv": Array(terms.utf8), "classes.csv": Array(classes.utf8),
                "users.csv": Array(users.utf8), "enrollments.csv": Array(enrollments.utf8)]
    }

    /// `files` as a multipart/form-data body and its Content-Type.
    static func multipart(_ files: [String: [UInt8]]) -> (body: [UInt8], contentType: String) {
        let boundary = "----attendance-test-\(UInt32.random(in: 0...UInt32.max))"
        var body: [UInt8] = []
        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(name)\"\r\nContent-Type: text/csv\r\n\r\n".utf8)
            body += content
            body += Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    /// A unique prefix for one test's ids.
    static func prefix() -> String { "x\(UInt32.random(in: 0...UInt32.max))" }
}

extension APITestCase {
    var admin: String { token(.admin, "admin1") }

    /// Runs `attendance` against the test Redis and returns its status and output; a process still
    /// running after `timeoutS` (a server that started) is killed and reported with status -1.
    func runAttendance(_ arguments: [String], environment: [String: String] = [:], timeoutS: Double = 30) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AttendanceProcess.executable)
        process.arguments = arguments + ["--redis", RedisServer.shared.url, "--log-level", "error"]
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("ATTENDANCE_") { env[key] = nil }
        env.merge(environment) { $1 }
        process.environment = env
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("attendance-out-\(UUID().uuidString)")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("attendance-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        // Files rather than pipes: a full pipe would stall a process that writes much.
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        let deadline = Date().addingTimeInterval(timeoutS)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        var status = process.terminationStatus
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            status = -1
        }
        return (status, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    func importBundle(_ files: [String: [UInt8]], as bearer: String? = nil) -> HTTPClientResponse {
        let (body, contentType) = SchoolFixtures.multipart(files)
        return request("POST", "/v1/rosters:import", token: bearer ?? admin, body: body, headers: ["Content-Type": contentType])
    }
}
