@testable import HTTP
import XCTest

/// Deterministic mutation fuzzing: mangled requests must never trap, and the outcome (requests or the
/// error) must not depend on how the bytes were split.
final class HTTPParserFuzzTests: XCTestCase {
    private struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(max(bound, 1)))
        }
    }

    private let seeds = [
        "GET /v1/classes/c1?x=%41+b HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n",
        "POST /v1/join HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}GET / HTTP/1.0\r\n\r\n",
        "PATCH /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n",
    ]

    private func outcome(_ chunks: [ArraySlice<UInt8>], _ limits: HTTPLimits) -> String {
        var parser = HTTPRequestParser(limits: limits)
        var parts: [String] = []
        for chunk in chunks {
            let failure = chunk.withUnsafeBytes { buffer -> HTTPParseError? in
                var offset = 0
                while offset < buffer.count {
                    do throws(HTTPParseError) {
                        let (consumed, request) = try parser.parse(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
                        offset += consumed
                        if let request { parts.append(describe(request)) }
                    } catch {
                        return error
                    }
                }
                return nil
            }
            if let failure { return parts.joined(separator: "\n") + "\nerror: \(failure)" }
        }
        return parts.joined(separator: "\n") + "\npartial: \(parser.hasPartialRequest)"
    }

    func testMutatedRequestsAreSplitIndependentAndNeverTrap() {
        var random = Generator(state: 0x5EED)
        let limits = HTTPLimits(maxHeadBytes: 200, maxHeaderCount: 4, maxBodyBytes: 64, maxURILength: 40)
        let interesting: [UInt8] = Array("\r\n :;,%+&=?/0fF\t\u{0}\u{7F}".utf8) + [0x80, 0xFF]
        for round in 0..<3000 {
            var bytes = Array(seeds[round % seeds.count].utf8)
            for _ in 0...random.next(4) {
                let position = random.next(bytes.count)
                switch random.next(4) {
                case 0: bytes[position] = interesting[random.next(interesting.count)]
                case 1: bytes.insert(interesting[random.next(interesting.count)], at: position)
                case 2: if bytes.count > 1 { bytes.remove(at: position) }
                default: bytes[position] = UInt8(truncatingIfNeeded: random.next(256))
                }
            }
            let whole = outcome([bytes[...]], limits)
            let cut = random.next(bytes.count + 1)
            XCTAssertEqual(outcome([bytes[..<cut], bytes[cut...]], limits), whole, "round \(round), cut \(cut)")
            if round % 10 == 0 {
                XCTAssertEqual(outcome(bytes.indices.map { bytes[$0...$0] }, limits), whole, "round \(round), bytewise")
            }
        }
    }
}
