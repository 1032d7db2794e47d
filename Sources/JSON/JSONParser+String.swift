/// Strings: one validating scan that finds the closing quote eight bytes at a time, then a `String`
/// made straight from the input bytes, or, only when the string has escapes, a second pass that
/// decodes them into the new string's own storage. Never a per-character append.
extension JSONParser {
    /// Parses the string whose opening quote is at the current position.
    mutating func parseString() throws(JSONError) -> String {
        position += 1
        let start = position
        var hasEscapes = false

        scan: while true {
            // Skip plain ASCII a word at a time; stop at the first byte that needs a closer look.
            while end - position >= 8 {
                let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
                let special = Self.specialBytes(in: word)
                if special == 0 {
                    position += 8
                } else {
                    position += special.trailingZeroBitCount >> 3
                    break
                }
            }
            guard position < end else {
                throw JSONError(offset: end, reason: JSONError.unterminatedString)
            }
            let byte = base[position]
            switch byte {
            case UInt8(ascii: "\""):
                break scan
            case UInt8(ascii: "\\"):
                hasEscapes = true
                try validateEscape()
            case 0x00..<0x20:
                throw error(JSONError.controlCharacter)
            case 0x80...:
                let length = UTF8Validation.sequenceLength(base, at: position, end: end)
                guard length > 0 else { throw error(JSONError.invalidUTF8) }
                position += length
            default:
                position += 1
            }
        }

        let length = position - start
        position += 1
        if !hasEscapes {
            // Already validated, so decoding repairs nothing; the standard library's ASCII fast path applies.
            return String(decoding: UnsafeBufferPointer(start: base + start, count: length), as: UTF8.self)
        }
        // Every escape decodes to fewer bytes than it takes in the input, so `length` is enough room.
        let base = self.base
        return String(unsafeUninitializedCapacity: length) { buffer in
            Self.decodeEscapes(from: base + start, count: length, into: buffer)
        }
    }

    /// Flags (in the byte's high bit) every byte of `word` that is '"', '\\', a control character or
    /// non-ASCII. Borrows can only flag bytes above a genuine hit, so the lowest flag is exact.
    @inline(__always)
    static func specialBytes(in word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let isQuote = (quotes &- ones) & ~quotes
        let isBackslash = (backslashes &- ones) & ~backslashes
        let isControl = (word &- ones &* 0x20) & ~word
        return (isQuote | isBackslash | isControl | word) & (ones &* 0x80)
    }

    /// Checks the escape whose backslash is at the current position and moves past it. A `\u` escape
    /// of a surrogate must be a high surrogate followed directly by an escaped low one.
    private mutating func validateEscape() throws(JSONError) {
        guard end - position >= 2 else { throw JSONError(offset: end, reason: JSONError.unterminatedString) }
        switch base[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            let unit = Self.hex4(base, at: position + 2, end: end)
            guard unit >= 0 else { throw error(JSONError.invalidUnicodeEscape) }
            switch unit {
            case 0xD800...0xDBFF:
                let hasLow = end - position >= 12
                    && base[position + 6] == UInt8(ascii: "\\") && base[position + 7] == UInt8(ascii: "u")
                    && (0xDC00...0xDFFF).contains(Self.hex4(base, at: position + 8, end: end))
                guard hasLow else { throw error(JSONError.loneSurrogate) }
                position += 12
            case 0xDC00...0xDFFF:
                throw error(JSONError.loneSurrogate)
            default:
                position += 6
            }
        default:
            throw error(JSONError.invalidEscape)
        }
    }

    /// The value of the four hex digits at `p[i]`, or -1 if there are not four.
    @inline(__always)
    static func hex4(_ p: UnsafePointer<UInt8>, at i: Int, end: Int) -> Int {
        guard end - i >= 4 else { return -1 }
        var value = 0
        for k in 0..<4 {
            let byte = p[i + k]
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte) - 0x30
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte) - 0x61 + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int(byte) - 0x41 + 10
            default: return -1
            }
            value = value << 4 | digit
        }
        return value
    }

    /// Copies a validated string body into `output`, decoding its escapes; returns the bytes written.
    private static func decodeEscapes(
        from input: UnsafePointer<UInt8>, count: Int, into output: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        var i = 0
        var written = 0
        while i < count {
            let byte = input[i]
            guard byte == UInt8(ascii: "\\") else {
                output[written] = byte
                written += 1
                i += 1
                continue
            }
            let decoded: UInt8
            switch input[i + 1] {
            case UInt8(ascii: "b"): decoded = 0x08
            case UInt8(ascii: "f"): decoded = 0x0C
            case UInt8(ascii: "n"): decoded = 0x0A
            case UInt8(ascii: "r"): decoded = 0x0D
            case UInt8(ascii: "t"): decoded = 0x09
            case UInt8(ascii: "u"):
                var scalar = UInt32(truncatingIfNeeded: hex4(input, at: i + 2, end: count))
                i += 6
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    let low = UInt32(truncatingIfNeeded: hex4(input, at: i + 2, end: count))
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                written += writeUTF8(scalar, into: output, at: written)
                continue
            default: decoded = input[i + 1]  // '"', '\\' or '/'
            }
            output[written] = decoded
            written += 1
            i += 2
        }
        return written
    }

    @inline(__always)
    private static func writeUTF8(_ scalar: UInt32, into output: UnsafeMutableBufferPointer<UInt8>, at i: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            output[i] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            output[i] = 0xC0 | UInt8(scalar >> 6)
            output[i + 1] = 0x80 | UInt8(scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            output[i] = 0xE0 | UInt8(scalar >> 12)
            output[i + 1] = 0x80 | UInt8((scalar >> 6) & 0x3F)
            output[i + 2] = 0x80 | UInt8(scalar & 0x3F)
            return 3
        default:
            output[i] = 0xF0 | UInt8(scalar >> 18)
            output[i + 1] = 0x80 | UInt8((scalar >> 12) & 0x3F)
            output[i + 2] = 0x80 | UInt8((scalar >> 6) & 0x3F)
            output[i + 3] = 0x80 | UInt8(scalar & 0x3F)
            return 4
        }
    }
}
