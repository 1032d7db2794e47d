/// Well-formed UTF-8 as RFC 3629 defines it (table 3-7 of the Unicode standard): no overlong forms,
/// no encoded surrogates, nothing above U+10FFFF. Shared by the parser, which rejects anything
/// else, and the writer, which replaces it so that its output is always valid UTF-8.
enum UTF8Validation {
    /// The length of the well-formed sequence whose lead byte (≥ 0x80) is `p[i]`, or 0 when the bytes
    /// from `i` up to `end` do not start with one.
    @inline(__always)
    static func sequenceLength(_ p: UnsafePointer<UInt8>, at i: Int, end: Int) -> Int {
        let length: Int
        // The second byte's range is what rules out overlong forms, surrogates and values past U+10FFFF.
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch p[i] {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return 0
        }
        guard end - i >= length else { return 0 }
        let second = p[i + 1]
        guard second >= low && second <= high else { return 0 }
        if length >= 3 && p[i + 2] & 0xC0 != 0x80 { return 0 }
        if length == 4 && p[i + 3] & 0xC0 != 0x80 { return 0 }
        return length
    }
}
