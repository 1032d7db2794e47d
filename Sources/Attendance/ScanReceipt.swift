/// A scan receipt (PROTOCOL.md "Scan receipts"): what a student page gets for a QR the moment it is
/// scanned, so that signing in or typing a name never lets the scanned QR expire. It is bound to the
/// class, to the QR's window (so `stale_qr` is still decided as at the scan) and to one device key
/// (its RFC 7638 thumbprint), and it is only accepted with a `device_sig` by that key.
///
/// `receipt = base64url(payload) "." base64url(HMAC-SHA256(key kid, "receipt:" + payload))` with
/// `payload = "<class_id>|<window>|<issued_ms>|<expires_ms>|<thumbprint>|<kid>"`, signed with the
/// access-token keys (`TokenSigner`), so receipts rotate with them. The "receipt:" prefix keeps the
/// MAC's domain apart from JWT signatures (whose input starts with "eyJ").
public struct ScanReceipt: Equatable, Sendable {
    public let classId: String
    /// The window of the QR it was exchanged for.
    public let window: Int64
    public let issuedMs: Int64
    public let expiresMs: Int64
    /// The RFC 7638 thumbprint of the device key it is bound to.
    public let thumbprint: String

    /// Two minutes: long enough to sign in and type a name, short enough that a receipt forwarded
    /// from the room is no better than the forwarded QR.
    public static let lifetimeMs: Int64 = 120_000
    /// Longer texts are refused before any decoding (a 64-character class id and kid fit easily).
    static let maxLength = 512
    private static let domain = Array("receipt:".utf8)

    public init(classId: String, window: Int64, issuedMs: Int64, expiresMs: Int64, thumbprint: String) {
        self.classId = classId
        self.window = window
        self.issuedMs = issuedMs
        self.expiresMs = expiresMs
        self.thumbprint = thumbprint
    }

    /// The receipt text, signed with the signer's current key.
    public func seal(_ signer: TokenSigner) -> String {
        let payload = Array("\(classId)|\(window)|\(issuedMs)|\(expiresMs)|\(thumbprint)|\(signer.currentKid)".utf8)
        // The current key is always configured (TokenSigner's precondition).
        let mac = signer.hmac(Self.domain + payload, kid: signer.currentKid) ?? []
        return Base64URL.encode(payload) + "." + Base64URL.encode(mac)
    }

    /// The receipt in `text` if its MAC is right (whatever its expiry), else nil: malformed, forged,
    /// or signed with a key that is no longer configured.
    public static func open(_ text: String, signer: TokenSigner) -> ScanReceipt? {
        let bytes = Array(text.utf8)
        guard bytes.count <= maxLength, let dot = bytes.firstIndex(of: UInt8(ascii: ".")),
              let payload = Base64URL.decode(bytes[..<dot]), let mac = Base64URL.decode(bytes[(dot + 1)...])
        else { return nil }
        // The kid is the last field; it may itself contain '|', the fields before it cannot.
        let fields = payload.split(separator: UInt8(ascii: "|"), maxSplits: 5, omittingEmptySubsequences: false)
        guard fields.count == 6,
              let expected = signer.hmac(domain + payload, kid: String(decoding: fields[5], as: UTF8.self)),
              Crypto.constantTimeEqual(expected, mac)
        else { return nil }
        // Only our own payloads get here, so the text is what `seal` wrote.
        let text = fields.map { String(decoding: $0, as: UTF8.self) }
        guard Identifier.isValid(text[0]), let window = Int64(text[1]), let issued = Int64(text[2]),
              let expires = Int64(text[3])
        else { return nil }
        return ScanReceipt(classId: text[0], window: window, issuedMs: issued, expiresMs: expires, thumbprint: text[4])
    }
}

/// What `POST /v1/receipts` answers.
public struct IssuedReceipt: Sendable, Equatable {
    public let receipt: String
    public let classId: String
    public let className: String
    public let expiresAtMs: Int64
}
