@testable import HTTP
import XCTest

/// A canonical text form of a request, so parses of the same bytes can be compared for equality.
func describe(_ r: HTTPRequest) -> String {
    let query = r.queryItems.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    let headers = r.headers.map { "\($0.name):\($0.value)" }.joined(separator: "|")
    return "\(r.method) \(r.target) path=\(r.path) query=[\(query)] \(r.version) headers=[\(headers)] body=\(r.body)"
}

func describe(_ r: HTTPClientResponse) -> String {
    let headers = r.headers.map { "\($0.name):\($0.value)" }.joined(separator: "|")
    return "\(r.version) \(r.status) \(r.reason) headers=[\(headers)] body=\(r.body)"
}

/// Feeds `chunks` in order, collecting every request; stops at the first error.
func parseRequests(_ chunks: [ArraySlice<UInt8>], limits: HTTPLimits = HTTPLimits()) -> Result<[HTTPRequest], HTTPParseError> {
    var parser = HTTPRequestParser(limits: limits)
    var requests: [HTTPRequest] = []
    for chunk in chunks {
        let result = chunk.withUnsafeBytes { buffer -> HTTPParseError? in
            var offset = 0
            while offset < buffer.count {
                do throws(HTTPParseError) {
                    let (consumed, request) = try parser.parse(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
                    offset += consumed
                    if let request { requests.append(request) }
                } catch {
                    return error
                }
            }
            return nil
        }
        if let result { return .failure(result) }
    }
    XCTAssertFalse(parser.hasPartialRequest, "input left a partial request behind")
    return .success(requests)
}

/// Every way of cutting `bytes`: whole, in two at every position, and one byte at a time.
func everySplit(_ bytes: [UInt8]) -> [[ArraySlice<UInt8>]] {
    var splits: [[ArraySlice<UInt8>]] = [[bytes[...]]]
    for cut in 0...bytes.count { splits.append([bytes[..<cut], bytes[cut...]]) }
    splits.append(bytes.indices.map { bytes[$0...$0] })
    return splits
}
