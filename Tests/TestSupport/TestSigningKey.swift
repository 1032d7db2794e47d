import COpenSSL

/// An identity provider's signing key for tests: RS256 (RSA) or ES256 (P-256). It signs id_tokens
/// the way a provider does; product code only verifies (`JSONWebKey`, `IDTokenVerifier`).
/// Immutable after init, and OpenSSL 3 signs with one EVP_PKEY from several threads (each call has
/// its own EVP_MD_CTX), so it can be shared.
public final class TestSigningKey: @unchecked Sendable {
    private let key: OpaquePointer
    public let kid: String
    /// "RS256" or "ES256".
    public let alg: String
    private let publicMembers: String

    /// A fresh RSA key of `bits` bits.
    public init(rsaBits bits: UInt32 = 2048, kid: String) {
        guard let key = att_rsa_generate(bits) else { preconditionFailure("RSA key generation failed") }
        self.key = key
        self.kid = kid
        alg = "RS256"
        var n = [UInt8](repeating: 0, count: 2048), e = [UInt8](repeating: 0, count: 16)
        let nLength = n.withUnsafeMutableBufferPointer { att_rsa_component(key, 0, $0.baseAddress, $0.count) }
        let eLength = e.withUnsafeMutableBufferPointer { att_rsa_component(key, 1, $0.baseAddress, $0.count) }
        precondition(nLength > 0 && eLength > 0, "RSA key export failed")
        let nText = TestDeviceKey.base64url(n[..<nLength]), eText = TestDeviceKey.base64url(e[..<eLength])
        publicMembers = #""kty":"RSA","n":"\#(nText)","e":"\#(eText)""#
    }

    /// A fresh P-256 key.
    public init(p256Kid kid: String) {
        var point = [UInt8](repeating: 0, count: 65)
        let key = point.withUnsafeMutableBufferPointer { att_p256_generate($0.baseAddress) }
        precondition(key != nil, "P-256 key generation failed")
        self.key = key!
        self.kid = kid
        alg = "ES256"
        let x = TestDeviceKey.base64url(point[1..<33]), y = TestDeviceKey.base64url(point[33..<65])
        publicMembers = #""kty":"EC","crv":"P-256","x":"\#(x)","y":"\#(y)""#
    }

    deinit { EVP_PKEY_free(key) }

    /// The public JWK as JSON text, with `kid`, `use` and `alg`.
    public var jwk: String { #"{\#(publicMembers),"kid":"\#(kid)","use":"sig","alg":"\#(alg)"}"# }

    /// A JWKS document of `keys`.
    public static func jwks(_ keys: [TestSigningKey]) -> String {
        #"{"keys":[\#(keys.map(\.jwk).joined(separator: ","))]}"#
    }

    /// The raw signature of `message`: RSASSA-PKCS1-v1_5/SHA-256, or ECDSA r ‖ s (JWS form).
    public func signature(_ message: [UInt8]) -> [UInt8] {
        if alg == "ES256" {
            var sig = [UInt8](repeating: 0, count: 64)
            let ok = message.withUnsafeBufferPointer { m in sig.withUnsafeMutableBufferPointer { att_p256_sign(key, m.baseAddress, m.count, $0.baseAddress) } }
            precondition(ok == 1, "ES256 signing failed")
            return sig
        }
        var sig = [UInt8](repeating: 0, count: 1024)
        var length = sig.count
        let ok = message.withUnsafeBufferPointer { m in sig.withUnsafeMutableBufferPointer { att_rs256_sign(key, m.baseAddress, m.count, $0.baseAddress, &length) } }
        precondition(ok == 1, "RS256 signing failed")
        return Array(sig[..<length])
    }

    /// A compact JWS of `payload` (JSON text). `header` replaces the default `{"alg","kid","typ"}`.
    public func sign(payload: String, header: String? = nil) -> String {
        let head = header ?? #"{"alg":"\#(alg)","kid":"\#(kid)","typ":"JWT"}"#
        let input = TestDeviceKey.base64url(Array(head.utf8)) + "." + TestDeviceKey.base64url(Array(payload.utf8))
        return input + "." + TestDeviceKey.base64url(signature(Array(input.utf8)))
    }
}
