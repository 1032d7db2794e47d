@testable import Attendance
import RedisClient
import XCTest

final class AttendanceErrorTests: XCTestCase {
    func testCodesAndStatuses() {
        let all: [(AttendanceError, String, Int)] = [
            (.badRequest("x"), "bad_request", 400), (.invalidJSON, "invalid_json", 400), (.unauthorized, "unauthorized", 401),
            (.forbidden("x"), "forbidden", 403), (.notFound("x"), "not_found", 404), (.conflict("x"), "conflict", 409),
            (.classClosed, "class_closed", 409), (.qrInvalid, "qr_invalid", 422), (.qrExpired, "qr_expired", 422),
            (.codeInvalid, "code_invalid", 422), (.notOnRoster, "not_on_roster", 403),
            (.alreadyCheckedIn, "already_checked_in", 409), (.rateLimited(retryAfterS: 7), "rate_limited", 429),
            (.payloadTooLarge, "payload_too_large", 413), (.unavailable, "unavailable", 503),
        ]
        for (error, code, status) in all {
            XCTAssertEqual(error.code, code)
            XCTAssertEqual(error.httpStatus, status, code)
            XCTAssertFalse(error.message.isEmpty)
        }
        XCTAssertEqual(AttendanceError.qrExpired.message, "QR code expired; scan the current one")
        XCTAssertEqual(AttendanceError.rateLimited(retryAfterS: 7).retryAfterS, 7)
        XCTAssertNil(AttendanceError.qrExpired.retryAfterS)
    }

    func testRedisMapping() {
        XCTAssertEqual(AttendanceError(redis: .disconnected), .unavailable)
        XCTAssertEqual(AttendanceError(redis: .connection("reset")), .unavailable)
        XCTAssertEqual(AttendanceError(redis: .reply("class_closed")), .classClosed)
        XCTAssertEqual(AttendanceError(redis: .reply("ERR class_closed")), .classClosed)
        XCTAssertEqual(AttendanceError(redis: .reply("-not_on_roster s9")), .notOnRoster)
        XCTAssertEqual(AttendanceError(redis: .reply("already_checked_in")), .alreadyCheckedIn)
        XCTAssertEqual(AttendanceError(redis: .reply("not_found")), .notFound("No such class"))
        XCTAssertEqual(AttendanceError(redis: .reply("bad_request roster too long")), .badRequest("roster too long"))
        XCTAssertEqual(AttendanceError(redis: .reply("class_full 2000")),
                       .conflict("The class is full: a class without a roster admits at most 2000 students"))
        XCTAssertEqual(AttendanceError(redis: .reply("ERR unknown command 'X'")), .unavailable)
        XCTAssertEqual(AttendanceError(redis: .reply("OOM command not allowed")), .unavailable)
    }
}
