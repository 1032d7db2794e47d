/// Appends compact JSON to a byte array, with no intermediate strings: how the hub and the REST
/// sidecar build replies and events.
///
/// Commas are written automatically: one flag says whether the current container already holds a
/// value, which is all that is needed, because closing a container always leaves its parent "after
/// a value". The writer does not check that calls are balanced or that object members have keys;
/// that is the caller's job.
///
/// ```swift
/// var writer = JSONWriter()
/// writer.beginObject()
/// writer.field("type", "pong")
/// writer.field("id", ifPresent: id)
/// writer.endObject()
/// ```
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public var bytes: [UInt8]
    /// True when the next value or key at the current level must be preceded by a comma.
    private var needsComma = false

    /// - Parameter capacity: bytes reserved up front; a typical hub reply fits in the default.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Empties the writer but keeps its storage, so a long-lived writer builds replies without allocating.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes an object key and its colon; the next call writes the member's value.
    public mutating func key(_ k: String) {
        separate()
        appendEscaped(k)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ s: String) {
        separate()
        appendEscaped(s)
    }

    /// Writes `bytes` as a string. They should be UTF-8; each byte that does not begin a well-formed
    /// sequence is written as U+FFFD, so the output stays valid UTF-8 whatever the input.
    public mutating func string(bytes: UnsafeRawBufferPointer) {
        separate()
        guard let base = bytes.baseAddress else {
            appendASCII("\"\"")
            return
        }
        appendEscaped(base.assumingMemoryBound(to: UInt8.self), count: bytes.count, validating: true)
    }

    public mutating func int(_ v: Int64) {
        separate()
        var magnitude = v.magnitude
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        var digitCount = 1
        var scale: UInt64 = 10
        while digitCount < 20 && magnitude >= scale {
            digitCount += 1
            scale = scale &* 10
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digitCount))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var i = start + digitCount - 1
            repeat {
                buffer[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                i -= 1
            } while magnitude > 0
        }
    }

    public mutating func int(_ v: Int) {
        int(Int64(v))
    }

    /// Writes the shortest text that parses back to exactly `v`; JSON has no NaN or infinities, so
    /// those are written as `null`.
    public mutating func double(_ v: Double) {
        guard v.isFinite else {
            null()
            return
        }
        separate()
        // Swift's description is the shortest round-tripping form, and for finite values always
        // matches JSON's number grammar ("1.0", "-0.0", "1e-05", "1.7976931348623157e+308").
        var text = v.description
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func bool(_ v: Bool) {
        separate()
        appendASCII(v ? "true" : "false")
    }

    public mutating func null() {
        separate()
        appendASCII("null")
    }

    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for element in elements { value(element) }
            endArray()
        case .object(let object):
            beginObject()
            for member in object {
                key(member.key)
                value(member.value)
            }
            endObject()
        }
    }

    /// Splices in one already encoded JSON value (e.g. an event payload stored in Redis) as the next
    /// value, unchecked.
    public mutating func raw(_ json: UnsafeRawBufferPointer) {
        separate()
        bytes.append(contentsOf: json)
    }

    // MARK: - Object members in one call

    public mutating func field(_ key: String, _ value: String) {
        self.key(key)
        string(value)
    }

    public mutating func field(_ key: String, _ value: Int) {
        self.key(key)
        int(value)
    }

    public mutating func field(_ key: String, _ value: Int64) {
        self.key(key)
        int(value)
    }

    public mutating func field(_ key: String, _ value: Double) {
        self.key(key)
        double(value)
    }

    public mutating func field(_ key: String, _ value: Bool) {
        self.key(key)
        bool(value)
    }

    public mutating func field(_ key: String, _ value: JSONValue) {
        self.key(key)
        self.value(value)
    }

    /// Writes the member only when `value` is not nil, e.g. the optional `id` echoed in hub replies.
    public mutating func field(_ key: String, ifPresent value: String?) {
        guard let value else { return }
        field(key, value)
    }

    /// Writes the member with `null` when `value` is nil (fields a reader always finds).
    public mutating func field(_ key: String, orNull value: String?) {
        self.key(key)
        if let value { string(value) } else { null() }
    }

    public mutating func field(_ key: String, orNull value: Int64?) {
        self.key(key)
        if let value { int(value) } else { null() }
    }

    // MARK: - Internals

    @inline(__always)
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Appends a literal's bytes without building a temporary array (literals of two or more
    /// characters only: a single-character StaticString has no pointer to its bytes).
    @inline(__always)
    private mutating func appendASCII(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    private mutating func appendEscaped(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            guard let base = utf8.baseAddress else {
                appendASCII("\"\"")
                return
            }
            // A String's UTF-8 is valid by construction.
            appendEscaped(base, count: utf8.count, validating: false)
        }
    }

    /// Writes a quoted string, copying runs that need no escaping in one append each.
    private mutating func appendEscaped(_ p: UnsafePointer<UInt8>, count: Int, validating: Bool) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        while i < count {
            let byte = p[i]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte < 0x80 {
                i += 1
                continue
            }
            if byte >= 0x80 {
                let length = validating ? UTF8Validation.sequenceLength(p, at: i, end: count) : 1
                if length > 0 {
                    i += length
                    continue
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart))
            appendEscape(for: byte)
            i += 1
            runStart = i
        }
        bytes.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart))
        bytes.append(UInt8(ascii: "\""))
    }

    /// The escape for a quote, a backslash or a control character; U+FFFD for a byte that does not
    /// start well-formed UTF-8.
    private mutating func appendEscape(for byte: UInt8) {
        let short: UInt8
        switch byte {
        case UInt8(ascii: "\""): short = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): short = UInt8(ascii: "\\")
        case 0x08: short = UInt8(ascii: "b")
        case 0x0C: short = UInt8(ascii: "f")
        case 0x0A: short = UInt8(ascii: "n")
        case 0x0D: short = UInt8(ascii: "r")
        case 0x09: short = UInt8(ascii: "t")
        case 0x80...:
            // U+FFFD REPLACEMENT CHARACTER.
            bytes.append(0xEF)
            bytes.append(0xBF)
            bytes.append(0xBD)
            return
        default:
            appendASCII("\\u00")
            bytes.append(Self.hexDigit(byte >> 4))
            bytes.append(Self.hexDigit(byte & 0xF))
            return
        }
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(short)
    }
}

extension JSONValue {
    /// The value as compact JSON, in UTF-8.
    public func serialized() -> [UInt8] {
        var writer = JSONWriter()
        writer.value(self)
        return writer.bytes
    }
}
