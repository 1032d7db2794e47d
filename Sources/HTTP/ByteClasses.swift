/// Byte classes of RFC 9110/9112, as small inlinable predicates so the parsers' inner loops stay
/// branch-cheap and allocation-free.
enum ASCII {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon = UInt8(ascii: ":")
    static let semicolon = UInt8(ascii: ";")
    static let comma = UInt8(ascii: ",")
    static let slash = UInt8(ascii: "/")
    static let question = UInt8(ascii: "?")
    static let percent = UInt8(ascii: "%")
    static let plus = UInt8(ascii: "+")
    static let ampersand = UInt8(ascii: "&")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")

    /// `tchar` of RFC 9110 §5.6.2: what a method or a field name may contain.
    @inline(__always)
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// A field-value byte (VCHAR, SP, HTAB or obs-text); every other control byte is rejected.
    @inline(__always)
    static func isFieldValueChar(_ b: UInt8) -> Bool {
        b == tab || (b >= 0x20 && b != 0x7F)
    }

    /// Visible ASCII (VCHAR): the bytes a request-target may contain.
    @inline(__always)
    static func isVisible(_ b: UInt8) -> Bool { b > 0x20 && b < 0x7F }

    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == space || b == tab }

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    @inline(__always)
    static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b &- UInt8(ascii: "A") &+ 10)
        default: return nil
        }
    }

    @inline(__always)
    static func lowercased(_ b: UInt8) -> UInt8 {
        b &- UInt8(ascii: "A") < 26 ? b | 0x20 : b
    }

    /// ASCII case-insensitive equality, for field names and tokens (never allocates).
    static func equalsIgnoringCase(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where lowercased(x) != lowercased(y) { return false }
        return true
    }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        equalsIgnoringCase(a.utf8, b.utf8)
    }

    /// Removes leading and trailing SP/HTAB (OWS).
    static func trimmingWhitespace(_ s: Substring.UTF8View) -> Substring.UTF8View {
        var start = s.startIndex
        var end = s.endIndex
        while start < end, isWhitespace(s[start]) { start = s.index(after: start) }
        while end > start, isWhitespace(s[s.index(before: end)]) { end = s.index(before: end) }
        return s[start..<end]
    }
}
