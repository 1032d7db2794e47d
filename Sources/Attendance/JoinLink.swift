/// A shareable, expiring join link (`/j/<link_token>`, PROTOCOL.md "Join link").
/// `link_token = base64url("<class_id>.<exp_s>") + "." + base64url(mac)` with
/// `mac = HMAC-SHA256(QR key, "link:<class_id>.<exp_s>")[0..<16]`. The "link:" prefix separates
/// this MAC's domain from the QR MAC made with the same key, so one can never stand in for the other.
///
/// A personal link (one per roster student) has the payload `<class_id>|<student_id>.<exp_s>` and the
/// domain "plink:"; `|` is no identifier character, and the distinct domain means a class link never
/// verifies as a personal one nor the other way round.
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
        make(payload: "\(classId).\(expiresS)", domain: classDomain, key: key)
    }

    /// A personal link token for one student of the class.
    public static func makePersonalToken(classId: String, studentId: String, expiresS: Int64, key: [UInt8]) -> String {
        make(payload: "\(classId)|\(studentId).\(expiresS)", domain: personalDomain, key: key)
    }

    /// The URL path that carries the token.
    public static func path(token: String) -> String { "/j/" + token }

    /// The class the token refers to, if its MAC is right and it has not expired at `nowS`.
    public static func verify(_ token: String, key: [UInt8], nowS: Int64) -> Result<String, Failure> {
        open(token, domain: classDomain, key: key, nowS: nowS).flatMap { subject in
            Identifier.isValid(subject) ? .success(subject) : .failure(.invalid)
        }
    }

    /// The class and student a personal token names, if its MAC is right and it has not expired.
    public static func verifyPersonal(_ token: String, key: [UInt8], nowS: Int64)
        -> Result<(classId: String, studentId: String), Failure> {
        open(token, domain: personalDomain, key: key, nowS: nowS).flatMap { subject in
            guard let bar = subject.firstIndex(of: "|") else { return .failure(.invalid) }
            let classId = String(subject[..<bar]), studentId = String(subject[subject.index(after: bar)...])
            guard Identifier.isValid(classId), Identifier.isValid(studentId) else { return .failure(.invalid) }
            return .success((classId, studentId))
        }
    }

    private static let classDomain = Array("link:".utf8)
    private static let personalDomain = Array("plink:".utf8)

    private static func make(payload: String, domain: [UInt8], key: [UInt8]) -> String {
        Base64URL.encode(Array(payload.utf8)) + "." + Base64URL.encode(mac(payload: Array(payload.utf8), domain: domain, key: key))
    }

    /// The payload before its expiry, if the MAC in `domain` is right and it has not expired.
    private static func open(_ token: String, domain: [UInt8], key: [UInt8], nowS: Int64) -> Result<String, Failure> {
        let bytes = Array(token.utf8)
        guard bytes.count <= maxLength,
              let dot = bytes.firstIndex(of: UInt8(ascii: ".")),
              let payloadBytes = Base64URL.decode(bytes[..<dot]),
              let givenMac = Base64URL.decode(bytes[(dot + 1)...])
        else { return .failure(.invalid) }
        guard Crypto.constantTimeEqual(mac(payload: payloadBytes, domain: domain, key: key), givenMac) else {
            return .failure(.invalid)
        }
        // Only our own payloads get here, so the text is the ASCII we wrote.
        let payload = String(decoding: payloadBytes, as: UTF8.self)
        guard let split = payload.lastIndex(of: ".") else { return .failure(.invalid) }
        guard let expires = Int64(payload[payload.index(after: split)...]) else { return .failure(.invalid) }
        return nowS < expires ? .success(String(payload[..<split])) : .failure(.expired)
    }

    private static func mac(payload: [UInt8], domain: [UInt8], key: [UInt8]) -> [UInt8] {
        Array(Crypto.hmacSHA256(key: key, message: domain + payload).prefix(macLength))
    }
}
