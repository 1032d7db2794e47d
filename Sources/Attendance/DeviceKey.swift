import COpenSSL
import JSON

/// A student device's ECDSA P-256 public key, registered as a JWK on a join and then used to verify
/// the `device_sig` of each check-in (PROTOCOL.md "Device binding"). Verification costs ~0.1 ms of
/// CPU and runs on the event loop: cheaper than a hop to a worker thread and back.
public struct DeviceKey: Sendable, Equatable {
    /// The 65-byte uncompressed point 0x04 ‖ x ‖ y.
    public let point: [UInt8]

    /// The key id: base64url of the first 16 bytes of SHA-256 over the uncompressed point.
    public var keyId: String { Base64URL.encode(Crypto.sha256(point).prefix(16)) }

    /// The RFC 7638 JWK thumbprint: base64url of SHA-256 over the key's required members in
    /// lexicographic order without whitespace, `{"crv":"P-256","kty":"EC","x":"…","y":"…"}`. Scan
    /// receipts name the key they are bound to by it (what a client can compute with WebCrypto too).
    public var thumbprint: String {
        let x = Base64URL.encode(point[1..<33]), y = Base64URL.encode(point[33..<65])
        return Base64URL.encode(Crypto.sha256(Array(#"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#.utf8)))
    }

    /// The stored form: base64url of the uncompressed point.
    public var encoded: String { Base64URL.encode(point) }

    /// Longest base64url text accepted for a coordinate or a signature before decoding.
    static let maxFieldCharacters = 128

    /// Why a JWK was refused, as a message for the client.
    public static let invalidMessage =
        "device_key must be a public JWK {\"kty\":\"EC\",\"crv\":\"P-256\",\"x\",\"y\"} with 32-byte base64url coordinates of a point on the curve"

    /// A point that OpenSSL accepts as a P-256 public key, or nil.
    public init?(point: [UInt8]) {
        guard point.count == 65, point[0] == 4 else { return nil }
        let valid = point.withUnsafeBufferPointer { att_p256_check($0.baseAddress) == 1 }
        guard valid else { return nil }
        self.point = point
    }

    /// The stored form back (see `encoded`).
    public init?(encoded: String) {
        guard encoded.utf8.count <= Self.maxFieldCharacters, let bytes = Base64URL.decode(encoded) else { return nil }
        self.init(point: bytes)
    }

    /// A public JWK, strictly: exactly the members kty, crv, x, y (plus the optional harmless `ext`,
    /// `key_ops`, `alg` WebCrypto exports); a private `d` or any other member is refused.
    public init?(jwk: JSONValue) {
        guard let object = jwk.object, object.count <= 7 else { return nil }
        let allowed: Set<String> = ["kty", "crv", "x", "y", "ext", "key_ops", "alg"]
        guard object.keys.allSatisfy(allowed.contains),
              object["kty"]?.string == "EC", object["crv"]?.string == "P-256",
              let x = object["x"]?.string, let y = object["y"]?.string,
              x.utf8.count == 43, y.utf8.count == 43,
              let xb = Base64URL.decode(x), let yb = Base64URL.decode(y), xb.count == 32, yb.count == 32
        else { return nil }
        if let alg = object["alg"], alg.string != "ES256" { return nil }
        self.init(point: [4] + xb + yb)
    }

    /// Whether `signature` (64 bytes r ‖ s) is this key's ECDSA P-256/SHA-256 signature of `message`.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        guard signature.count == 64 else { return false }
        return point.withUnsafeBufferPointer { p in
            message.withUnsafeBufferPointer { m in
                signature.withUnsafeBufferPointer { s in
                    att_p256_verify(p.baseAddress, m.baseAddress, m.count, s.baseAddress) == 1
                }
            }
        }
    }

    /// The 64 signature bytes from a `device_sig`, or nil when it is not 86 base64url characters.
    public static func decodeSignature(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 86, let bytes = Base64URL.decode(text), bytes.count == 64 else { return nil }
        return bytes
    }

    /// The signed text: `class_id|student_id|proof|client_time_ms`, proof being the QR or the code.
    public static func message(classId: String, studentId: String, proof: String, clientTimeMs: Int64) -> [UInt8] {
        Array("\(classId)|\(studentId)|\(proof)|\(clientTimeMs)".utf8)
    }
}
