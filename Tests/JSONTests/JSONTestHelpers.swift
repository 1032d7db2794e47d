import JSON
import XCTest

/// The error parsing `bytes` throws, or nil when it parses.
func parseError(_ bytes: [UInt8], maxDepth: Int = JSON.defaultMaxDepth) -> JSONError? {
    do {
        _ = try JSON.parse(bytes, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

func parseError(_ text: String, maxDepth: Int = JSON.defaultMaxDepth) -> JSONError? {
    parseError(Array(text.utf8), maxDepth: maxDepth)
}

/// Asserts that `text` is rejected at `offset` for `reason`.
func assertRejected(
    _ text: String, at offset: Int, _ reason: String, maxDepth: Int = JSON.defaultMaxDepth,
    file: StaticString = #filePath, line: UInt = #line
) {
    assertRejected(Array(text.utf8), at: offset, reason, maxDepth: maxDepth, file: file, line: line)
}

func assertRejected(
    _ bytes: [UInt8], at offset: Int, _ reason: String, maxDepth: Int = JSON.defaultMaxDepth,
    file: StaticString = #filePath, line: UInt = #line
) {
    guard let error = parseError(bytes, maxDepth: maxDepth) else {
        XCTFail("accepted \(bytes)", file: file, line: line)
        return
    }
    XCTAssertEqual(error, JSONError(offset: offset, reason: reason), "\(String(decoding: bytes, as: UTF8.self))",
        file: file, line: line)
}

/// A small deterministic generator (SplitMix64) so that randomized tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Parses from a heap block exactly `bytes.count` long, so that under AddressSanitizer
/// (`swift test --sanitize=address`) a read even one byte past the input is reported.
func parseExactBuffer(_ bytes: [UInt8], maxDepth: Int = JSON.defaultMaxDepth) throws(JSONError) -> JSONValue {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { buffer.deallocate() }
    buffer.copyBytes(from: bytes)
    return try JSON.parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth)
}
