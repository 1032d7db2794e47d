@testable import HTTP
import XCTest

final class HTTPRequestParserTests: XCTestCase {
    /// Good inputs and the requests they must produce, whatever the split.
    private let corpus: [(name: String, input: String, expected: [String])] = [
        ("GET with query",
         "GET /v1/classes/c%201/attendance?format=csv&x=a+b%26c&flag&=v HTTP/1.1\r\nHost: example\r\nX-Pad:  spaced value \t\r\nAccept: */*\r\n\r\n",
         ["GET /v1/classes/c%201/attendance?format=csv&x=a+b%26c&flag&=v path=/v1/classes/c 1/attendance query=[format=csv&x=a b&c&flag=&=v] HTTP/1.1 headers=[Host:example|X-Pad:spaced value|Accept:*/*] body=[]"]),
        ("POST with body",
         "POST /v1/join HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b+c\"}",
         ["POST /v1/join path=/v1/join query=[] HTTP/1.1 headers=[Host:h|Content-Type:application/json|Content-Length:11] body=\(Array("{\"a\":\"b+c\"}".utf8))"]),
        ("chunked with extension and trailer",
         "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=val\r\nhello\r\nA ; x\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
         ["POST /up path=/up query=[] HTTP/1.1 headers=[Host:h|Transfer-Encoding:Chunked] body=\(Array("hello0123456789".utf8))"]),
        ("pipelined GET then POST",
         "GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
         ["GET /a path=/a query=[] HTTP/1.1 headers=[Host:h] body=[]",
          "POST /b?q=1 path=/b query=[q=1] HTTP/1.1 headers=[Host:h|Content-Length:2] body=\(Array("hi".utf8))"]),
        ("pipelined chunked then GET",
         "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nGET /d HTTP/1.1\r\n\r\n",
         ["PUT /c path=/c query=[] HTTP/1.1 headers=[Transfer-Encoding:chunked] body=\(Array("x".utf8))",
          "GET /d path=/d query=[] HTTP/1.1 headers=[] body=[]"]),
        ("LF-only line endings",
         "GET /lf HTTP/1.1\nHost: h\n\n",
         ["GET /lf path=/lf query=[] HTTP/1.1 headers=[Host:h] body=[]"]),
        ("empty lines before the request line, HTTP/1.0",
         "\r\n\r\nGET / HTTP/1.0\r\n\r\n",
         ["GET / path=/ query=[] HTTP/1.0 headers=[] body=[]"]),
        ("Content-Length list of equal values, empty header value",
         "POST /l HTTP/1.1\r\nContent-Length: 3, 3\r\nX-Empty:\r\n\r\nabc",
         ["POST /l path=/l query=[] HTTP/1.1 headers=[Content-Length:3, 3|X-Empty:] body=\(Array("abc".utf8))"]),
        ("Content-Length zero and obs-text value",
         "DELETE /x HTTP/1.1\r\nContent-Length: 0\r\nX-Name: caf\u{E9}\r\n\r\n",
         ["DELETE /x path=/x query=[] HTTP/1.1 headers=[Content-Length:0|X-Name:caf\u{E9}] body=[]"]),
    ]

    func testCorpusParsesTheSameAtEverySplit() {
        for entry in corpus {
            let bytes = Array(entry.input.utf8)
            for (index, chunks) in everySplit(bytes).enumerated() {
                switch parseRequests(chunks) {
                case .success(let requests):
                    XCTAssertEqual(requests.map(describe), entry.expected, "\(entry.name), split #\(index)")
                case .failure(let error):
                    XCTFail("\(entry.name), split #\(index): \(error)")
                }
            }
        }
    }

    func testParserStopsAfterEachPipelinedRequest() throws {
        let bytes = Array("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3".utf8)
        var parser = HTTPRequestParser()
        try bytes.withUnsafeBytes { buffer in
            let first = try parser.parse(buffer)
            XCTAssertEqual(first.request?.path, "/1")
            XCTAssertEqual(first.consumed, 19)
            let second = try parser.parse(UnsafeRawBufferPointer(rebasing: buffer[first.consumed...]))
            XCTAssertEqual(second.request?.path, "/2")
            let third = try parser.parse(UnsafeRawBufferPointer(rebasing: buffer[(first.consumed + second.consumed)...]))
            XCTAssertNil(third.request)
            XCTAssertEqual(first.consumed + second.consumed + third.consumed, bytes.count)
        }
        XCTAssertTrue(parser.hasPartialRequest)
    }

    func testRequestAccessors() throws {
        guard case .success(let requests) = parseRequests([Array((
            "GET /ws?access_token=a%2Bb+c HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
            + "Upgrade: WebSocket/13\r\nSec-WebSocket-Protocol: a\r\nsec-websocket-protocol: b\r\n\r\n").utf8)[...]]),
              let request = requests.first else { return XCTFail("did not parse") }
        XCTAssertEqual(request.query("access_token"), "a+b c")
        XCTAssertNil(request.query("missing"))
        XCTAssertEqual(request.headers["HOST"], "h")
        XCTAssertEqual(request.headerValues("Sec-WebSocket-Protocol"), ["a", "b"])
        XCTAssertTrue(request.isUpgrade(to: "websocket"))
        XCTAssertFalse(request.isUpgrade(to: "h2c"))
        XCTAssertTrue(request.keepAlive)

        XCTAssertFalse(try HTTPRequest(method: "GET", target: "/", headers: ["Connection": "close"]).keepAlive)
        XCTAssertFalse(try HTTPRequest(method: "GET", target: "/", version: .http1_0).keepAlive)
        XCTAssertTrue(try HTTPRequest(method: "GET", target: "/", version: .http1_0, headers: ["Connection": "Keep-Alive"]).keepAlive)
        XCTAssertFalse(try HTTPRequest(method: "GET", target: "/ws", headers: ["Upgrade": "websocket"]).isUpgrade(to: "websocket"),
                       "Upgrade without Connection: upgrade is not an upgrade")
        XCTAssertThrowsError(try HTTPRequest(method: "GET", target: "nope"))
    }

    /// Each malformed input must give exactly its error (and so its status), at every split.
    func testMalformedRequestsMapToTheirErrorAtEverySplit() {
        let small = HTTPLimits(maxHeadBytes: 256, maxHeaderCount: 3, maxBodyBytes: 10, maxURILength: 32)
        let cases: [(String, HTTPParseError, Int, HTTPLimits)] = [
            ("GET\r\n\r\n", .badRequestLine, 400, HTTPLimits()),
            ("GET  / HTTP/1.1\r\n\r\n", .badRequestLine, 400, HTTPLimits()),
            ("G@T / HTTP/1.1\r\n\r\n", .badRequestLine, 400, HTTPLimits()),
            ("GET / HTTP/1.1 \r\n\r\n", .badRequestLine, 400, HTTPLimits()),
            ("GET / http/1.1\r\n\r\n", .badRequestLine, 400, HTTPLimits()),
            ("GET /\u{7F} HTTP/1.1\r\n\r\n", .badRequestLine, 400, HTTPLimits()),
            ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion, 505, HTTPLimits()),
            ("GET / HTTP/1.2\r\n\r\n", .unsupportedVersion, 505, HTTPLimits()),
            ("GET http://h/ HTTP/1.1\r\n\r\n", .badTarget, 400, HTTPLimits()),
            ("GET /a%zz HTTP/1.1\r\n\r\n", .badTarget, 400, HTTPLimits()),
            ("GET /a%2 HTTP/1.1\r\n\r\n", .badTarget, 400, HTTPLimits()),
            ("GET /%FF HTTP/1.1\r\n\r\n", .badTarget, 400, HTTPLimits()),
            ("GET /?q=%C3 HTTP/1.1\r\n\r\n", .badTarget, 400, HTTPLimits()),
            ("GET / HTTP/1.1\rHost: h\r\n\r\n", .bareCR, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", .badHeaderName, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\nName : x\r\n\r\n", .badHeaderName, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\n: x\r\n\r\n", .badHeaderName, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\nNoColon\r\n\r\n", .badHeaderName, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\nX: a\u{01}b\r\n\r\n", .badHeaderValue, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\nX: a\u{0}b\r\n\r\n", .badHeaderValue, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", .obsoleteLineFolding, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\n Host: h\r\n\r\n", .obsoleteLineFolding, 400, HTTPLimits()),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .duplicateHost, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", .badContentLength, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .badContentLength, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", .badContentLength, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", .badContentLength, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", .badContentLength, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", .badContentLength, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", .badContentLength, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", .badContentLength, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", .contentLengthWithTransferEncoding, 400, HTTPLimits()),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", .transferEncodingInHTTP10, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", .unsupportedTransferEncoding, 501, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding, 501, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .badTransferEncoding, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", .badTransferEncoding, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .badChunk, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", .badChunk, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\n", .badChunk, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY", .badChunk, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", .badChunk, 400, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\rx", .bareCR, 400, HTTPLimits()),
            // Limits: each fires before the offending bytes are buffered (no body, no end of head here).
            ("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", .bodyTooLarge, 413, small),
            ("POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", .bodyTooLarge, 413, HTTPLimits()),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n3\r\n", .bodyTooLarge, 413, small),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n", .bodyTooLarge, 413, HTTPLimits()),
            ("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n", .tooManyHeaders, 431, small),
            ("GET / HTTP/1.1\r\nX: " + String(repeating: "v", count: 300), .headTooLarge, 431, small),
            ("GET /" + String(repeating: "a", count: 40), .uriTooLong, 414, small),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: " + String(repeating: "t", count: 300), .headTooLarge, 431, small),
            ("\r\n" + String(repeating: "\r\n", count: 200), .headTooLarge, 431, small),
        ]
        for (input, expected, status, limits) in cases {
            XCTAssertEqual(expected.status, status, input)
            for (index, chunks) in everySplit(Array(input.utf8)).enumerated() {
                switch parseRequests(chunks, limits: limits) {
                case .success(let requests):
                    XCTFail("\(input.debugDescription), split #\(index): parsed \(requests.count) requests")
                case .failure(let error):
                    XCTAssertEqual(error, expected, "\(input.debugDescription), split #\(index)")
                }
            }
        }
    }

    func testDefaultLimitsGive431And414() {
        let tooManyHeaders = "GET / HTTP/1.1\r\n" + (0...100).map { "H\($0): v\r\n" }.joined() + "\r\n"
        XCTAssertEqual(error(of: tooManyHeaders), .tooManyHeaders)
        let hundredHeaders = "GET / HTTP/1.1\r\n" + (1...100).map { "H\($0): v\r\n" }.joined() + "\r\n"
        XCTAssertNil(error(of: hundredHeaders))
        XCTAssertEqual(error(of: "GET / HTTP/1.1\r\nCookie: " + String(repeating: "c", count: 16 * 1024) + "\r\n\r\n"), .headTooLarge)
        XCTAssertEqual(error(of: "GET /" + String(repeating: "u", count: 8 * 1024) + " HTTP/1.1\r\n\r\n"), .uriTooLong)
        XCTAssertNil(error(of: "GET /" + String(repeating: "u", count: 8 * 1024 - 1) + " HTTP/1.1\r\n\r\n"))
    }

    func testParserKeepsFailingAfterAnError() {
        var parser = HTTPRequestParser()
        let bad = Array("BAD\r\n\r\n".utf8)
        let good = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        XCTAssertThrowsError(try bad.withUnsafeBytes { try parser.parse($0) })
        XCTAssertThrowsError(try good.withUnsafeBytes { try parser.parse($0) }) { error in
            XCTAssertEqual(error as? HTTPParseError, .badRequestLine)
        }
    }

    func testParseErrorResponseHasTheProtocolShape() {
        let response = HTTPResponse(HTTPParseError.bodyTooLarge)
        XCTAssertEqual(response.status, 413)
        XCTAssertFalse(response.keepAlive)
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self),
                       #"{"error":{"code":"payload_too_large","message":"request body too large"}}"#)
    }

    private func error(of input: String) -> HTTPParseError? {
        if case .failure(let error) = parseRequests([Array(input.utf8)[...]]) { return error }
        return nil
    }
}
