import JSON

/// Reads string fields from the hub's compact JSON messages without building a JSON tree: the tool
/// receives hundreds of thousands of events a second and must not become the bottleneck it measures.
/// The hub and the Lua scripts write `"key":"value"` without spaces and identifiers, offsets and
/// QR tokens never contain escapes; anything else falls back to the full parser at the caller.
enum MessageScanner {
    /// Calls `body` with the message in the compact form the scanner reads: as it is when it already
    /// has a compact `"type":"…"`, otherwise parsed and re-serialized (servers that put spaces
    /// after colons, like the Python reference server, cost one parse per message).
    static func withCompact(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        if string("type", in: bytes) != nil { return body(bytes) }
        guard let value = try? JSON.parse(bytes) else { return body(bytes) }
        value.serialized().withUnsafeBytes { body($0) }
    }

    /// The bytes of the string value of `"key":"…"`, or nil when not present in that form.
    static func string(_ key: StaticString, in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let pattern = UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount)
        // "key":"  — the pattern is the quoted key, a colon and the opening quote.
        let needed = pattern.count + 4
        guard bytes.count >= needed else { return nil }
        var i = 0
        let last = bytes.count - needed
        while i <= last {
            if bytes[i] == UInt8(ascii: "\""), bytes[i + 1 + pattern.count] == UInt8(ascii: "\""),
               bytes[i + 2 + pattern.count] == UInt8(ascii: ":"), bytes[i + 3 + pattern.count] == UInt8(ascii: "\""),
               matches(pattern, bytes, at: i + 1) {
                let start = i + needed
                var end = start
                while end < bytes.count && bytes[end] != UInt8(ascii: "\"") { end += 1 }
                guard end < bytes.count else { return nil }
                return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            }
            i += 1
        }
        return nil
    }

    private static func matches(_ pattern: UnsafeRawBufferPointer, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        for j in 0..<pattern.count where bytes[offset + j] != pattern[j] { return false }
        return true
    }

    static func equals(_ bytes: UnsafeRawBufferPointer?, _ text: StaticString) -> Bool {
        guard let bytes, bytes.count == text.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        return matches(expected, bytes, at: 0)
    }

    /// The decimal number at the end of `bytes` (e.g. 42 of "L1x.e42"), or nil if it ends in no digit.
    static func trailingNumber(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var end = bytes.count
        while end > 0, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[end - 1]) { end -= 1 }
        guard end < bytes.count, bytes.count - end <= 18 else { return nil }
        var value = 0
        for i in end..<bytes.count { value = value * 10 + Int(bytes[i] - UInt8(ascii: "0")) }
        return value
    }

    /// An offset "ms-seq" as one comparable pair, or nil if malformed.
    static func offset(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        var ms: UInt64 = 0
        var seq: UInt64 = 0
        var sawDash = false
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: "-") {
                guard !sawDash, digits > 0 else { return nil }
                sawDash = true
                digits = 0
                continue
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), digits < 19 else { return nil }
            digits += 1
            if sawDash { seq = seq * 10 + UInt64(byte - 48) } else { ms = ms * 10 + UInt64(byte - 48) }
        }
        return sawDash && digits > 0 ? (ms, seq) : nil
    }
}

extension String {
    init(_ bytes: UnsafeRawBufferPointer) { self.init(decoding: bytes, as: UTF8.self) }
}
