import JSON

/// Why an id_token was refused (PROTOCOL.md "Sign-in with a school account"). Every case ends the
/// sign-in with `sso_error=token_invalid`; the case is for logs and tests.
public enum IDTokenError: Error, Equatable, Sendable {
    /// Not a compact JWS of three base64url parts with JSON objects, or too long.
    case malformed
    /// `alg` is not RS256 or ES256 (`none` and the HMAC algorithms included), or `crit` is present.
    case unsupportedAlgorithm(String)
    /// No key of the set has the header's `kid` (and algorithm): the caller may refresh the JWKS once.
    case unknownKey
    case badSignature
    case wrongIssuer
    case wrongAudience
    case expired
    /// `iat` or `nbf` lies beyond the skew in the future.
    case notYetValid
    case wrongNonce
    /// A required claim is missing or has the wrong type.
    case missingClaim(String)
}

/// A compact JWS split and decoded; nothing in it is trusted until `verify` passed.
struct CompactJWS {
    let header: JSONValue
    let payload: JSONValue
    let signingInput: [UInt8]
    let signature: [UInt8]

    static let maxLength = 16 * 1024

    init(_ token: String) throws(IDTokenError) {
        let bytes = Array(token.utf8)
        guard bytes.count <= Self.maxLength else { throw .malformed }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(parts[0]), let header = try? JSON.parse(headerBytes), header.object != nil,
              let payloadBytes = Base64URL.decode(parts[1]), let payload = try? JSON.parse(payloadBytes), payload.object != nil,
              let signature = Base64URL.decode(parts[2])
        else { throw .malformed }
        self.header = header
        self.payload = payload
        signingInput = Array(bytes[..<parts[1].endIndex])
        self.signature = signature
    }
}

/// The checks of OpenID Connect Core §3.1.3.7 on an id_token from the token endpoint.
public struct IDTokenVerifier: Sendable {
    public let issuer: String
    public let clientId: String
    /// Clock difference tolerated on `exp`, `iat` and `nbf`.
    public static let skewS: Int64 = 60

    public init(issuer: String, clientId: String) {
        self.issuer = issuer
        self.clientId = clientId
    }

    /// The verified claims of `token`: signature by a key of `keys`, then `iss`, `aud` (and `azp`
    /// when there are several audiences), `exp`, `iat`, `nbf` and `nonce`.
    public func verify(_ token: String, keys: JSONWebKeySet, nonce: String, nowS: Int64) throws(IDTokenError) -> JSONObject {
        let jws = try CompactJWS(token)
        let alg = jws.header["alg"]?.string ?? ""
        guard alg == "RS256" || alg == "ES256" else { throw .unsupportedAlgorithm(alg) }
        guard jws.header["crit"] == nil else { throw .unsupportedAlgorithm("crit") }
        var kid: String?
        if let value = jws.header["kid"] {
            guard let text = value.string else { throw .malformed }
            kid = text
        }
        let candidates = keys.candidates(kid: kid, algorithm: alg)
        guard !candidates.isEmpty else { throw .unknownKey }
        guard candidates.contains(where: { $0.verify(signature: jws.signature, message: jws.signingInput) }) else {
            throw .badSignature
        }
        guard let claims = jws.payload.object else { throw .malformed }
        guard claims["iss"]?.string == issuer else { throw .wrongIssuer }
        let audiences: [String]
        switch claims["aud"] {
        case .string(let one)?: audiences = [one]
        case .array(let many)?: audiences = many.compactMap(\.string)
        default: throw .wrongAudience
        }
        guard audiences.contains(clientId) else { throw .wrongAudience }
        if audiences.count > 1 || claims["azp"] != nil {
            guard claims["azp"]?.string == clientId else { throw .wrongAudience }
        }
        guard let exp = claims["exp"]?.int else { throw .missingClaim("exp") }
        guard let iat = claims["iat"]?.int else { throw .missingClaim("iat") }
        // Written so that no arithmetic overflows on hostile claims.
        guard nowS - Self.skewS < exp else { throw .expired }
        guard iat <= nowS + Self.skewS else { throw .notYetValid }
        if let nbf = claims["nbf"] {
            guard let value = nbf.int else { throw .missingClaim("nbf") }
            guard value <= nowS + Self.skewS else { throw .notYetValid }
        }
        guard let given = claims["nonce"]?.string, Crypto.constantTimeEqual(Array(given.utf8), Array(nonce.utf8)) else {
            throw .wrongNonce
        }
        return claims
    }
}
