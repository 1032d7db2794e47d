@testable import HTTP
import XCTest

final class HTTPResponseTests: XCTestCase {
    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testSerializeAddsContentLengthAndKeepsHeaderOrder() {
        let response = HTTPResponse(status: 200, headers: [("Content-Type", "text/csv"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
                                    body: Array("a,b\n".utf8))
        XCTAssertEqual(text(response.serialize()),
                       "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 4\r\n\r\na,b\n")
    }

    func testCloseFramingAndInjectionAreTheServersBusiness() {
        var response = HTTPResponse.text(503, "down")
            .adding("Retry-After", "5")
            .adding("Content-Length", "999")
            .adding("Connection", "keep-alive")
            .adding("X-Evil", "a\r\nInjected: yes")
            .adding("Bad Name", "x")
        response.keepAlive = false
        XCTAssertEqual(text(response.serialize()),
                       "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\n"
                       + "X-Evil: a  Injected: yes\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndown")
    }

    func testNoBodyStatusesAndHEAD() {
        XCTAssertEqual(text(HTTPResponse(status: 204, body: [1, 2]).serialize()), "HTTP/1.1 204 No Content\r\n\r\n")
        XCTAssertEqual(text(HTTPResponse(status: 101, headers: ["Upgrade": "websocket", "Connection": "Upgrade"]).serialize()),
                       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        XCTAssertEqual(text(HTTPResponse.json(200, Array("{}".utf8)).serialize(includeBody: false)),
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n")
        XCTAssertEqual(text(HTTPResponse(status: 299).serialize()), "HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n")
    }

    func testErrorBodyIsExactlyTheProtocolShapeAndEscaped() {
        let response = HTTPResponse.error(429, code: "rate_limited", message: "slow \"down\"\\ \n\u{1}é")
            .adding("Retry-After", "3")
        XCTAssertEqual(response.status, 429)
        XCTAssertEqual(response.headers["content-type"], "application/json")
        XCTAssertEqual(response.headers["retry-after"], "3")
        XCTAssertEqual(text(response.body), #"{"error":{"code":"rate_limited","message":"slow \"down\"\\ \n\u0001é"}}"#)
    }

    func testHeadersLookup() {
        var headers: HTTPHeaders = ["A": "1", "b": "2"]
        headers.add("a", "3")
        XCTAssertEqual(headers["a"], "1")
        XCTAssertEqual(headers.values(for: "A"), ["1", "3"])
        headers.set("A", "4")
        XCTAssertEqual(headers.map { $0.name + "=" + $0.value }, ["b=2", "A=4"])
        headers.remove("B")
        XCTAssertEqual(headers.count, 1)
        let connection: HTTPHeaders = ["Connection": "Keep-Alive ,  Upgrade", "X": "close"]
        XCTAssertTrue(connection.containsToken("upgrade", for: "connection"))
        XCTAssertFalse(connection.containsToken("close", for: "connection"))
        let near: HTTPHeaders = ["Connection": "upgraded"]
        XCTAssertFalse(near.containsToken("upgrade", for: "connection"))
    }
}
