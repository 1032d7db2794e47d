/// The 6-digit join code students type (PROTOCOL.md "Join code").
public enum JoinCode {
    /// Whether `text` is exactly six ASCII digits (leading zeros allowed).
    public static func isWellFormed(_ text: String) -> Bool {
        let bytes = text.utf8
        return bytes.count == 6 && bytes.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// A uniformly random code from RAND_bytes. Rejection sampling avoids the bias of `% 1_000_000`.
    public static func random() -> String {
        while true {
            let bytes = Crypto.randomBytes(4)
            let value = bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            // 4_294_000_000 is the largest multiple of 1_000_000 that fits in UInt32.
            if value < 4_294_000_000 {
                let digits = String(value % 1_000_000)
                return String(repeating: "0", count: 6 - digits.count) + digits
            }
        }
    }
}
