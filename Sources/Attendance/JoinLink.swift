/// A shareable, expiring join link (`/j/<link_token>`, PROTOCOL.md "Join link").
/// `link_token = base64url("<class_id>.<exp_s>") + "." + base64url(mac)` with
/// `mac = HMAC-SHA256(QR key, "link:<class_id>.<exp_s>")[0..<16]`. The "link:" prefix separates
/// this MAC's domain from the QR MAC made with the same key, so one can never stand in for the other.
public enum JoinLink {
    public enum Failure: Error, Equatable, Sendable {
        case invalid
        case expired
    }

    /// The `bad_request` text for a link that is not ours (or was altered).
    public static let invalidMessage = "The join link is not valid"

    static let macLength = 16
    static let maxLength = 256

    public static func makeToken(classId: String, expiresS: Int64, key: [UInt8]) -> String {
        let payload = "\(classId).\(expiresS)"
        return Base64URL.encode(Array(payload.utf8)) + "." + Base64URL.encode(mac(payload: Array(payload.utf8), key: key))
    }

    /// The URL path that carries the token.
    public static func path(token: String) -> String { "/j/" + token }

    /// The class the token refers to, if its MAC is right and it has not expired at `nowS`.
    public static func verify(_ token: String, key: [UInt8], nowS: Int64) -> Result<String, Failure> {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxLength,
              let dot = bytes.firstIndex(of: UInt8(ascii: ".")),
              let payloadBytes = Base64URL.decode(bytes[..<dot]),
              let givenMac = Base64URL.decode(bytes[(dot + 1)...])
        else { return .failure(.invalid) }
        guard Crypto.constantTimeEqual(mac(payload: payloadBytes, key: key), givenMac) else { return .failure(.invalid) }
        // Only our own payloads get here, so the text is the ASCII we wrote.
        let payload = String(decoding: payloadBytes, as: UTF8.self)
        guard let split = payload.lastIndex(of: ".") else { return .failure(.invalid) }
        let classId = String(payload[..<split])
        guard Identifier.isValid(classId), let expires = Int64(payload[payload.index(after: split)...]) else {
            return .failure(.invalid)
        }
        return nowS < expires ? .success(classId) : .failure(.expired)
    }

    private static func mac(payload: [UInt8], key: [UInt8]) -> [UInt8] {
        Array(Crypto.hmacSHA256(key: key, message: Array("link:".utf8) + payload).prefix(macLength))
    }
}
