/// The one bit of JSON this module writes (error bodies); kept local so HTTP does not depend on the
/// JSON module.
enum JSONEscaping {
    /// Appends `text` as a JSON string literal, quotes included.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(ASCII.quote)
        for b in text.utf8 {
            switch b {
            case ASCII.quote: out.append(ASCII.backslash); out.append(ASCII.quote)
            case ASCII.backslash: out.append(ASCII.backslash); out.append(ASCII.backslash)
            case 0x0A: out.append(ASCII.backslash); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(ASCII.backslash); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(ASCII.backslash); out.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigit(b >> 4))
                out.append(hexDigit(b & 0x0F))
            default: out.append(b)
            }
        }
        out.append(ASCII.quote)
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
