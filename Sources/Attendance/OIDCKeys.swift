import COpenSSL
import JSON

/// A provider's public signing key from its JWKS (RFC 7517): RSA (`n`, `e`) for RS256 or a P-256
/// point for ES256. Only the key material is kept; OpenSSL builds the EVP_PKEY per verification,
/// which costs microseconds once per sign-in and leaves no pointer to own.
public struct JSONWebKey: Sendable, Equatable {
    public enum Material: Sendable, Equatable {
        case rsa(n: [UInt8], e: [UInt8])
        case ec(point: [UInt8])
    }

    public let kid: String?
    public let material: Material

    /// RSA keys below this size are refused (RFC 7518 §3.3 requires 2048 bits for RS256).
    public static let minRSABits: Int32 = 2048
    /// Larger moduli are refused before OpenSSL sees them: 16384 bits is beyond any real key.
    static let maxRSABytes = 2048

    public init(kid: String?, material: Material) {
        self.kid = kid
        self.material = material
    }

    /// A public signing key from one JWKS entry; nil for encryption keys (`use` other than `sig`),
    /// other key types or curves, private members, or coordinates of the wrong length.
    public init?(jwk: JSONValue) {
        guard let object = jwk.object, object["d"] == nil, object["p"] == nil else { return nil }
        if let use = object["use"], use.string != "sig" { return nil }
        var kid: String?
        if let value = object["kid"] {
            guard let text = value.string, text.utf8.count <= 256 else { return nil }
            kid = text
        }
        switch object["kty"]?.string {
        case "RSA":
            if let alg = object["alg"], alg.string != "RS256" { return nil }
            guard let n = object["n"]?.string.flatMap(Base64URL.decode), let e = object["e"]?.string.flatMap(Base64URL.decode),
                  !n.isEmpty, n.count <= Self.maxRSABytes, !e.isEmpty, e.count <= 8
            else { return nil }
            self.init(kid: kid, material: .rsa(n: n, e: e))
        case "EC":
            if let alg = object["alg"], alg.string != "ES256" { return nil }
            guard object["crv"]?.string == "P-256",
                  let x = object["x"]?.string.flatMap(Base64URL.decode), let y = object["y"]?.string.flatMap(Base64URL.decode),
                  x.count == 32, y.count == 32, let key = DeviceKey(point: [4] + x + y)
            else { return nil }
            self.init(kid: kid, material: .ec(point: key.point))
        default:
            return nil
        }
    }

    /// The JWS algorithm this key verifies.
    public var algorithm: String {
        switch material {
        case .rsa: "RS256"
        case .ec: "ES256"
        }
    }

    /// Whether `signature` signs `message` under this key with `algorithm`.
    func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        switch material {
        case .rsa(let n, let e):
            return n.withUnsafeBufferPointer { n in
                e.withUnsafeBufferPointer { e in
                    message.withUnsafeBufferPointer { m in
                        signature.withUnsafeBufferPointer { s in
                            att_rs256_verify(n.baseAddress, n.count, e.baseAddress, e.count, Self.minRSABits,
                                             m.baseAddress, m.count, s.baseAddress, s.count) == 1
                        }
                    }
                }
            }
        case .ec(let point):
            // The JWS form of an ES256 signature is r ‖ s (RFC 7518 §3.4), as WebCrypto's; the shim
            // turns it into DER for OpenSSL.
            guard let key = DeviceKey(point: point) else { return false }
            return key.verify(signature: signature, message: message)
        }
    }
}

/// A provider's key set (`jwks_uri`). Keys the project cannot use (encryption keys, other curves)
/// are skipped, not fatal: providers publish them beside their signing keys.
public struct JSONWebKeySet: Sendable, Equatable {
    public let keys: [JSONWebKey]
    /// More keys than this make the document suspect; real providers publish a handful.
    public static let maxKeys = 64

    public init(keys: [JSONWebKey]) { self.keys = keys }

    /// Nil when the document is not `{"keys": [...]}` with at most `maxKeys` entries.
    public init?(json bytes: [UInt8]) {
        guard let document = try? JSON.parse(bytes), let entries = document["keys"]?.array, entries.count <= Self.maxKeys
        else { return nil }
        keys = entries.compactMap(JSONWebKey.init(jwk:))
    }

    /// The keys a token header may be verified with: the one with its `kid`, or without a `kid`
    /// every key of the header's algorithm (a provider with one key often omits it).
    func candidates(kid: String?, algorithm: String) -> [JSONWebKey] {
        if let kid { return keys.filter { $0.kid == kid && $0.algorithm == algorithm } }
        return keys.filter { $0.algorithm == algorithm }
    }
}
