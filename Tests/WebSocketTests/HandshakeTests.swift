import XCTest
@testable import WebSocket

final class HandshakeTests: XCTestCase {
    func testAcceptKeyMatchesRFCSample() {
        XCTAssertEqual(WebSocketHandshake.acceptKey(for: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    private let goodHeaders = [
        "upgrade": "websocket",
        "connection": "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
    ]

    private func validate(method: String = "GET", _ headers: [String: String]) -> Result<String, WebSocketHandshakeError> {
        WebSocketHandshake.validateServerRequest(method: method) { headers[$0.lowercased()] }
    }

    func testValidRequest() {
        XCTAssertEqual(validate(goodHeaders), .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        var h = goodHeaders
        h["upgrade"] = "WebSocket"
        h["connection"] = "keep-alive, Upgrade"
        XCTAssertEqual(validate(h), .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        h["upgrade"] = "h2c ,\twebsocket"
        h["connection"] = "upgrade,keep-alive"
        XCTAssertEqual(validate(h), .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    }

    func testInvalidRequestsMapTo400Or426() {
        var cases: [(String, [String: String], WebSocketHandshakeError)] = []
        cases.append(("POST", goodHeaders, .methodNotGet))
        func with(_ name: String, _ value: String?) -> [String: String] {
            var h = goodHeaders
            h[name] = value
            return h
        }
        cases.append(("GET", with("upgrade", nil), .missingUpgrade))
        cases.append(("GET", with("upgrade", "websockets"), .missingUpgrade))
        cases.append(("GET", with("upgrade", "h2c"), .missingUpgrade))
        cases.append(("GET", with("connection", nil), .missingConnectionUpgrade))
        cases.append(("GET", with("connection", "keep-alive"), .missingConnectionUpgrade))
        cases.append(("GET", with("connection", "upgrades"), .missingConnectionUpgrade))
        cases.append(("GET", with("sec-websocket-version", nil), .unsupportedVersion))
        cases.append(("GET", with("sec-websocket-version", "8"), .unsupportedVersion))
        cases.append(("GET", with("sec-websocket-version", "13, 8"), .unsupportedVersion))
        cases.append(("GET", with("sec-websocket-key", nil), .invalidKey))
        cases.append(("GET", with("sec-websocket-key", ""), .invalidKey))
        cases.append(("GET", with("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ"), .invalidKey))       // no padding
        cases.append(("GET", with("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=x"), .invalidKey))
        cases.append(("GET", with("sec-websocket-key", "dGhlIHNhbXBsZSBub25j!Q=="), .invalidKey))
        cases.append(("GET", with("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZSBh"), .invalidKey))    // 18 bytes
        for (method, headers, expected) in cases {
            XCTAssertEqual(validate(method: method, headers), .failure(expected), "\(method) \(headers)")
            XCTAssertEqual(expected.status, expected == .unsupportedVersion ? 426 : 400)
        }
    }

    func testResponseBytes() {
        let text = String(decoding: WebSocketHandshake.responseBytes(accept: "abc="), as: UTF8.self)
        XCTAssertEqual(text, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc=\r\n\r\n")
    }

    func testRejectionBytes() {
        let bad = String(decoding: WebSocketHandshake.rejectionBytes(for: .invalidKey), as: UTF8.self)
        XCTAssertTrue(bad.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        XCTAssertTrue(bad.contains("\r\nConnection: close\r\n"))
        XCTAssertFalse(bad.contains("Sec-WebSocket-Version"))
        let body = "{\"error\":{\"code\":\"bad_request\",\"message\":\"missing or invalid Sec-WebSocket-Key\"}}"
        XCTAssertTrue(bad.hasSuffix("\r\n\r\n" + body))
        XCTAssertTrue(bad.contains("Content-Length: \(body.utf8.count)\r\n"))

        let version = String(decoding: WebSocketHandshake.rejectionBytes(for: .unsupportedVersion), as: UTF8.self)
        XCTAssertTrue(version.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
        XCTAssertTrue(version.contains("\r\nSec-WebSocket-Version: 13\r\n"))
        XCTAssertTrue(version.contains("\"code\":\"bad_request\""))
    }

    func testClientRequestAndRandomKey() {
        let key = WebSocketHandshake.randomKey()
        XCTAssertTrue(WebSocketHandshake.isBase64Of16Bytes(key))
        XCTAssertNotEqual(key, WebSocketHandshake.randomKey())
        let text = String(decoding: WebSocketHandshake.clientRequest(host: "h:1", path: "/ws?access_token=t", key: key,
                                                                     extraHeaders: [("Origin", "http://h")]), as: UTF8.self)
        XCTAssertEqual(text, "GET /ws?access_token=t HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\nOrigin: http://h\r\n\r\n")
    }

    /// Feeds `response` split at every position; returns the leftover bytes, or the error.
    private func parseResponse(_ response: [UInt8], key: String) -> [Result<[UInt8], WebSocketClientError>] {
        var results: [Result<[UInt8], WebSocketClientError>] = []
        for split in everySplit(response) {
            var parser = WebSocketHandshakeResponseParser(key: key)
            var outcome: Result<[UInt8], WebSocketClientError>?
            for (index, chunk) in split.enumerated() where outcome == nil {
                chunk.withUnsafeBytes { bytes in
                    var input = bytes
                    do throws(WebSocketClientError) {
                        if try parser.parse(&input) { outcome = .success(Array(input)) }
                    } catch {
                        outcome = .failure(error)
                    }
                }
                if case .success(var leftover) = outcome {
                    // The later chunks belong to the frame stream too.
                    for later in split[(index + 1)...] { leftover += later }
                    outcome = .success(leftover)
                }
            }
            results.append(outcome ?? .failure(.handshakeFailed("incomplete")))
        }
        return results
    }

    func testResponseParserEverySplit() {
        let key = "dGhlIHNhbXBsZSBub25jZQ=="
        let good = Array("HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".utf8)
        let frame: [UInt8] = [0x81, 0x02, 0x68, 0x69]
        for result in parseResponse(good + frame, key: key) {
            XCTAssertEqual(result, .success(frame))
        }
        let wrongAccept = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n".utf8)
        for result in parseResponse(wrongAccept, key: key) {
            XCTAssertEqual(result, .failure(.handshakeFailed("missing or wrong Sec-WebSocket-Accept")))
        }
        let refused = WebSocketHandshake.rejectionBytes(for: .unsupportedVersion)
        for result in parseResponse(refused, key: key) {
            XCTAssertEqual(result, .failure(.handshakeFailed("status 426")))
        }
    }

    func testResponseParserRefusesHugeHead() throws {
        var parser = WebSocketHandshakeResponseParser(key: "dGhlIHNhbXBsZSBub25jZQ==")
        let junk = [UInt8](repeating: 0x41, count: WebSocketHandshakeResponseParser.maxHeadSize + 1)
        try junk.withUnsafeBytes { bytes in
            var input = bytes
            XCTAssertThrowsError(try parser.parse(&input))
        }
    }
}
