@testable import HTTP
import XCTest

final class HTTPResponseParserTests: XCTestCase {
    /// Feeds chunks, answering `headFlags[i]` for the i-th response; then signals EOF if `eof`.
    private func parseResponses(_ chunks: [ArraySlice<UInt8>], headFlags: [Bool] = [], eof: Bool = false)
        -> Result<[HTTPClientResponse], HTTPParseError> {
        var parser = HTTPResponseParser()
        var responses: [HTTPClientResponse] = []
        for chunk in chunks {
            let failure = chunk.withUnsafeBytes { buffer -> HTTPParseError? in
                var offset = 0
                while offset < buffer.count {
                    let isHEAD = responses.count < headFlags.count && headFlags[responses.count]
                    do throws(HTTPParseError) {
                        let (consumed, response) = try parser.parse(UnsafeRawBufferPointer(rebasing: buffer[offset...]),
                                                                    isResponseToHEAD: isHEAD)
                        offset += consumed
                        if let response { responses.append(response) }
                    } catch {
                        return error
                    }
                }
                return nil
            }
            if let failure { return .failure(failure) }
        }
        if eof {
            do throws(HTTPParseError) {
                if let last = try parser.finish() { responses.append(last) }
            } catch {
                return .failure(error)
            }
        }
        return .success(responses)
    }

    func testCorpusParsesTheSameAtEverySplit() {
        let corpus: [(String, [Bool], Bool, [String])] = [
            ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", [], false,
             ["HTTP/1.1 200 OK headers=[Content-Length:5] body=\(Array("hello".utf8))"]),
            ("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", [], false,
             ["HTTP/1.1 201 Created headers=[Transfer-Encoding:chunked] body=\(Array("abc".utf8))",
              "HTTP/1.1 204 No Content headers=[] body=[]"]),
            ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", [], false,
             ["HTTP/1.1 200 OK headers=[Content-Length:1] body=\(Array("x".utf8))"]),
            ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", [true], false,
             ["HTTP/1.1 200 OK headers=[Content-Length:10] body=[]",
              "HTTP/1.1 404 Not Found headers=[Content-Length:0] body=[]"]),
            ("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", [], true,
             ["HTTP/1.0 200 OK headers=[Content-Type:text/plain] body=\(Array("until close".utf8))"]),
            ("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", [], true,
             ["HTTP/1.1 200  headers=[Content-Length:0] body=[]"]),
        ]
        for (input, heads, eof, expected) in corpus {
            for (index, chunks) in everySplit(Array(input.utf8)).enumerated() {
                switch parseResponses(chunks, headFlags: heads, eof: eof) {
                case .success(let responses):
                    XCTAssertEqual(responses.map(describe), expected, "\(input.debugDescription) split #\(index)")
                case .failure(let error):
                    XCTFail("\(input.debugDescription) split #\(index): \(error)")
                }
            }
        }
    }

    func testMalformedResponses() {
        let cases: [(String, Bool, HTTPParseError)] = [
            ("HTTP/1.1 2000 OK\r\n\r\n", false, .badStatusLine),
            ("HTTX/1.1 200 OK\r\n\r\n", false, .badStatusLine),
            ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", true, .truncatedMessage),
            ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, .badContentLength),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", false, .badChunk),
            ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", false, .bodyTooLarge),
        ]
        for (input, eof, expected) in cases {
            for (index, chunks) in everySplit(Array(input.utf8)).enumerated() {
                switch parseResponses(chunks, eof: eof) {
                case .success:
                    XCTFail("\(input.debugDescription) split #\(index) parsed")
                case .failure(let error):
                    XCTAssertEqual(error, expected, "\(input.debugDescription) split #\(index)")
                }
            }
        }
    }
}
