@testable import API
import Attendance
import JSON
import XCTest

final class RequestDecodingTests: XCTestCase {
    func testBearerTokenParsing() {
        XCTAssertEqual(Authentication.bearerToken("Bearer abc.def.ghi"), "abc.def.ghi")
        XCTAssertEqual(Authentication.bearerToken("BEARER abc"), "abc")
        XCTAssertEqual(Authentication.bearerToken("  Bearer   abc  "), "abc")
        XCTAssertNil(Authentication.bearerToken("Bearer"))
        XCTAssertNil(Authentication.bearerToken("Bearer "))
        XCTAssertNil(Authentication.bearerToken("Bearer    "))
        XCTAssertNil(Authentication.bearerToken("Bearer a b"))
        XCTAssertNil(Authentication.bearerToken("Basic abc"))
        XCTAssertNil(Authentication.bearerToken("Bearerabc"))
        XCTAssertNil(Authentication.bearerToken(""))
    }

    func testBodyFieldsAndErrors() throws {
        let body = try JSONBody(Array(#"{"s":"x","i":3,"f":3.0,"d":2.5,"b":true,"n":null,"a":["p","q"],"bad":["p",""]}"#.utf8))
        XCTAssertEqual(try body.string("s"), "x")
        XCTAssertNil(try body.string("n"), "null is absent")
        XCTAssertNil(try body.string("missing"))
        XCTAssertEqual(try body.int("i"), 3)
        XCTAssertEqual(try body.int("f"), 3)
        XCTAssertEqual(try body.bool("b"), true)
        XCTAssertEqual(try body.identifierArray("a"), ["p", "q"])
        XCTAssertFalse(body.has("n"))
        XCTAssertTrue(body.has("s"))
        func failure(_ read: () throws -> Void) -> APIError? {
            do { try read() } catch { return error as? APIError }
            return nil
        }
        XCTAssertEqual(failure { _ = try body.int("d") }?.message, "d must be an integer")
        XCTAssertEqual(failure { _ = try body.int("s") }?.message, "s must be an integer")
        XCTAssertEqual(failure { _ = try body.bool("i") }?.message, "i must be true or false")
        XCTAssertEqual(failure { _ = try body.requiredString("missing") }?.message, "missing is required")
        XCTAssertEqual(failure { _ = try body.identifierArray("bad") }?.message.hasPrefix("bad[1] must be"), true)
        XCTAssertEqual(failure { _ = try body.status("s") }?.code, "bad_request")
        XCTAssertEqual(failure { try body.allowOnly(["s"]) }?.message.hasPrefix("Unknown field 'i'"), true)
        XCTAssertNil(failure { try body.allowOnly(["s", "i", "f", "d", "b", "n", "a", "bad"]) })
    }

    func testBodyMustBeAnObject() {
        func code(_ text: String) -> String? {
            do { _ = try JSONBody(Array(text.utf8)) } catch { return error.code }
            return nil
        }
        XCTAssertEqual(code(""), "invalid_json")
        XCTAssertEqual(code("{"), "invalid_json")
        XCTAssertEqual(code("{} x"), "invalid_json")
        XCTAssertEqual(code("[]"), "bad_request")
        XCTAssertEqual(code("\"s\""), "bad_request")
        XCTAssertNil(code("{}"))
    }

    func testEveryAttendanceErrorMapsToItsStatus() {
        let cases: [(AttendanceError, Int, String)] = [
            (.badRequest("x"), 400, "bad_request"), (.invalidJSON, 400, "invalid_json"), (.unauthorized, 401, "unauthorized"),
            (.forbidden("x"), 403, "forbidden"), (.notFound("x"), 404, "not_found"), (.conflict("x"), 409, "conflict"),
            (.classClosed, 409, "class_closed"), (.qrInvalid, 422, "qr_invalid"), (.qrExpired, 422, "qr_expired"),
            (.codeInvalid, 422, "code_invalid"), (.notOnRoster, 403, "not_on_roster"), (.alreadyCheckedIn, 409, "already_checked_in"),
            (.rateLimited(retryAfterS: 7), 429, "rate_limited"), (.payloadTooLarge, 413, "payload_too_large"), (.unavailable, 503, "unavailable"),
        ]
        for (error, status, code) in cases {
            let response = APIError(error).response
            XCTAssertEqual(response.status, status, code)
            let body = try? JSON.parse(response.body)
            XCTAssertEqual(body?["error"]?["code"]?.string, code)
            XCTAssertEqual(body?["error"]?["message"]?.string, error.message)
        }
        XCTAssertEqual(APIError(.rateLimited(retryAfterS: 7)).response.headers["Retry-After"], "7")
        XCTAssertEqual(APIError(.unauthorized).response.headers["WWW-Authenticate"], #"Bearer realm="attendance""#)
    }

    func testHubOriginForTheContentSecurityPolicy() {
        XCTAssertEqual(APIHandlers.webSocketOrigin("ws://127.0.0.1:8080/ws"), "ws://127.0.0.1:8080")
        XCTAssertEqual(APIHandlers.webSocketOrigin("wss://hub.example.edu/ws?a=b"), "wss://hub.example.edu")
        XCTAssertEqual(APIHandlers.webSocketOrigin("ws://[::1]:8080"), "ws://[::1]:8080")
        XCTAssertNil(APIHandlers.webSocketOrigin("http://hub/ws"))
        XCTAssertNil(APIHandlers.webSocketOrigin("ws://hub;evil/ws"))
        XCTAssertNil(APIHandlers.webSocketOrigin("ws:///ws"))
    }
}
