@testable import API
import Attendance
import TestSupport
import XCTest

final class RetentionTests: APITestCase {
    /// The api's sweep purges a class once it has been closed for `retentionDays` (that it keeps younger
    /// ones is PurgeTests' part).
    func testClosedClassesArePurgedAfterTheRetentionPeriod() throws {
        stopServer()
        try startServer { $0.sweepIntervalMs = 20; $0.retentionDays = 2 }
        let classId = createClass()["class_id"]!.string!
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/close", token: teacher, json: "{}").status, 200)

        clock.offsetMs = 2 * 86_400_000 + 60_000
        // Two days on, the sweep also auto-closes and purges what every earlier test left in the
        // shared Redis; under a sanitizer on a busy machine that took more than the default 5 s.
        XCTAssertTrue(runLoop(loop, timeoutMs: 60_000) { self.server.metrics.classesPurged > 0 })
        XCTAssertTrue(runLoop(loop, timeoutMs: 60_000) { self.request("GET", "/v1/classes/\(classId)", token: self.teacher).status == 404 })
        XCTAssertTrue(server.metrics.prometheusText(redisReconnects: 0, redisConnected: true)
            .contains("attendance_api_classes_purged_total \(server.metrics.classesPurged)"))
    }
}
