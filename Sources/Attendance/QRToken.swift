/// The rotating QR token that proves presence in the room (PROTOCOL.md "QR token"):
/// `"<class_id>.<window>.<mac>"`, `window = floor(now_s / qr_period_s)`,
/// `mac = base64url(HMAC-SHA256(QR key, "<class_id>.<window>")[0..<16])`.
public enum QRToken {
    /// MAC bytes kept: 128 bits is far beyond what an online guesser can try within one window.
    static let macLength = 16
    /// How far ahead of the current window a scanner's clock may be (PROTOCOL: "nothing from the
    /// future beyond 2 s").
    public static let futureSkewMs: Int64 = 2000
    /// Longest token accepted before any parsing: a 64-char class id, a 20-digit window, a 22-char MAC.
    static let maxLength = 128

    public enum Verification: Equatable, Sendable {
        case ok
        /// Well-formed, correct MAC, but older than the previous window.
        case expired
        /// Malformed, forged, for another class, or from the future beyond the allowed skew.
        case invalid
    }

    /// The pieces of a syntactically valid token.
    public struct Parsed: Equatable, Sendable {
        public let classId: String
        public let window: Int64
        public let mac: [UInt8]
    }

    /// The MAC for one class and window.
    public static func mac(classId: String, window: Int64, key: [UInt8]) -> [UInt8] {
        Array(Crypto.hmacSHA256(key: key, message: "\(classId).\(window)").prefix(macLength))
    }

    /// The token for `window`.
    public static func make(classId: String, window: Int64, key: [UInt8]) -> String {
        "\(classId).\(window).\(Base64URL.encode(mac(classId: classId, window: window, key: key)))"
    }

    /// The token valid now and the millisecond its window ends (when the next one should be shown).
    public static func current(classId: String, periodS: Int, nowMs: Int64, key: [UInt8]) -> (qr: String, expiresMs: Int64) {
        let periodMs = Int64(max(periodS, 1)) * 1000
        let window = floorDiv(nowMs, periodMs)
        return (make(classId: classId, window: window, key: key), (window + 1) * periodMs)
    }

    /// Splits at the last two dots (class ids may themselves contain dots). The window must be plain
    /// decimal digits (no sign, no leading zeros) so that each window has exactly one spelling.
    public static func parse(_ token: String) -> Parsed? {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxLength,
              let lastDot = bytes.lastIndex(of: UInt8(ascii: ".")),
              let middleDot = bytes[..<lastDot].lastIndex(of: UInt8(ascii: "."))
        else { return nil }
        let classBytes = bytes[..<middleDot]
        let windowBytes = bytes[(middleDot + 1)..<lastDot]
        let macBytes = bytes[(lastDot + 1)...]
        let classId = String(decoding: classBytes, as: UTF8.self)
        guard Identifier.isValid(classId),
              let window = parseWindow(windowBytes),
              let mac = Base64URL.decode(macBytes), mac.count == macLength
        else { return nil }
        return Parsed(classId: classId, window: window, mac: mac)
    }

    /// Checks `token` for `classId` at `nowMs`. The MAC is checked (in constant time) before the window,
    /// so `expired` is only ever said about a token this server really issued.
    public static func verify(_ token: String, classId: String, periodS: Int, nowMs: Int64, key: [UInt8]) -> Verification {
        guard let parsed = parse(token), parsed.classId == classId else { return .invalid }
        let expected = mac(classId: classId, window: parsed.window, key: key)
        guard Crypto.constantTimeEqual(expected, parsed.mac) else { return .invalid }
        let periodMs = Int64(max(periodS, 1)) * 1000
        let current = floorDiv(nowMs, periodMs)
        if parsed.window == current || parsed.window == current - 1 { return .ok }
        if parsed.window < current - 1 { return .expired }
        // A scanner slightly ahead of us: accept the next window only in the last 2 s of ours.
        if parsed.window == current + 1, (current + 1) * periodMs - nowMs <= futureSkewMs { return .ok }
        return .invalid
    }

    private static func parseWindow(_ digits: ArraySlice<UInt8>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        if digits.count > 1 && digits.first == UInt8(ascii: "0") { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }
}
