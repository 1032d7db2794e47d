/// Identifiers on the wire (`class_id`, `student_id`, `teacher_id`): 1–64 characters of
/// `[A-Za-z0-9_.:@-]`, not starting with `@` (so an email from a school's sign-in is an id, and no
/// spreadsheet reads an exported id as a formula). The charset keeps them safe inside Redis keys (no `{`/`}` that would break the
/// per-class hash tag), inside JSON built in Lua (nothing needs escaping) and in CSV exports.
public enum Identifier {
    public static let maxLength = 64

    /// Whether `text` is a valid identifier.
    public static func isValid(_ text: String) -> Bool {
        var count = 0
        for byte in text.utf8 {
            count += 1
            if count > maxLength || !isAllowed(byte) || (count == 1 && byte == UInt8(ascii: "@")) { return false }
        }
        return count > 0
    }

    /// Whether `byte` may appear in an identifier.
    @inline(__always)
    public static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }

    /// RFC 4648 base32 alphabet in lower case: readable, unambiguous enough, valid in identifiers.
    private static let base32: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    /// A fresh class id: `c_` followed by 10 base32 characters (50 random bits from RAND_bytes),
    /// enough that collisions among live classes are negligible; the create script still refuses to
    /// overwrite an existing class.
    public static func newClassId() -> String {
        let random = Crypto.randomBytes(10)
        var out: [UInt8] = [UInt8(ascii: "c"), UInt8(ascii: "_")]
        out.reserveCapacity(12)
        for byte in random { out.append(base32[Int(byte & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
