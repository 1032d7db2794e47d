import JSON

/// The claims of an access token (PROTOCOL.md "Access token").
public struct AccessClaims: Equatable, Sendable {
    /// The user id (teacher, student or admin id).
    public var sub: String
    public var role: Role
    /// Issued-at, seconds since the epoch (required).
    public var iat: Int64
    /// Expiry, seconds since the epoch.
    public var exp: Int64
    /// The one class a student token is bound to.
    public var cls: String?

    public init(sub: String, role: Role, iat: Int64, exp: Int64, cls: String? = nil) {
        self.sub = sub
        self.role = role
        self.iat = iat
        self.exp = exp
        self.cls = cls
    }
}

/// Why a token was refused. Callers answer every case with `unauthorized` (401 / close 1008); the
/// case is for logs.
public enum TokenError: Error, Equatable, Sendable {
    /// Not three base64url parts, not JSON objects, too long.
    case malformed
    /// `alg` is not HS256 (including "none"), or the header demands extensions (`crit`).
    case unsupportedAlgorithm
    /// The `kid` names no configured key.
    case unknownKey
    case badSignature
    case expired
    /// `iat` or `nbf` lies more than `TokenSigner.futureSkewS` in the future.
    case notYetValid
    /// `exp - iat` is above the maximum lifetime for the token's role.
    case lifetimeTooLong
    /// A claim is missing or has the wrong type or form.
    case invalidClaims
}

/// Signs and verifies HS256 JWT access tokens. Several keys may be configured by key id (`kid`) so
/// a secret can be rotated: new tokens are signed with `currentKid`, old ones verify until they
/// expire. Immutable, hence safe to share between worker threads.
public final class TokenSigner: Sendable {
    /// Tolerated clock difference between the issuer and this process when checking `exp`: a token
    /// stays valid for `expiryLeewayS` seconds after its `exp`. Small, because a stolen token should
    /// not outlive its expiry by much, but non-zero so a few seconds of skew do not log users out.
    public static let expiryLeewayS: Int64 = 10
    /// Longer tokens are refused before any decoding.
    public static let maxTokenLength = 4096
    /// How far `iat` and `nbf` may lie in the future: the issuer's clock may run a little ahead, but a
    /// token minted for later is a token minted to outlive its apparent lifetime.
    public static let futureSkewS: Int64 = 60
    /// Default longest lifetime (`exp - iat`) of a teacher or admin token: one working day, so a
    /// leaked token is not good for weeks.
    public static let defaultMaxLifetimeS: Int64 = 86_400
    /// Longest lifetime of a student token: join issues one for the rest of the class plus the
    /// store's grace, and the longest class is a day.
    public static let maxStudentLifetimeS = Int64(CreateClassRequest.durationRange.upperBound) + ClassStore.defaultStudentTokenGraceS

    public let currentKid: String
    /// Longest accepted lifetime of teacher and admin tokens.
    public let maxLifetimeS: Int64
    private let keys: [String: [UInt8]]

    /// - Parameters:
    ///   - keys: secrets by key id; must contain `currentKid`.
    ///   - currentKid: the key new tokens are signed with, and the one used for tokens without `kid`.
    ///   - maxLifetimeS: longest `exp - iat` accepted for teacher and admin tokens.
    public init(keys: [String: [UInt8]], currentKid: String, maxLifetimeS: Int64 = TokenSigner.defaultMaxLifetimeS) {
        precondition(keys[currentKid] != nil, "the current key id must name a configured key")
        self.keys = keys
        self.currentKid = currentKid
        self.maxLifetimeS = maxLifetimeS
    }

    /// One secret under one key id.
    public convenience init(secret: String, kid: String = "k1", maxLifetimeS: Int64 = TokenSigner.defaultMaxLifetimeS) {
        self.init(keys: [kid: Array(secret.utf8)], currentKid: kid, maxLifetimeS: maxLifetimeS)
    }

    /// The longest lifetime `verify` accepts for a token of `role`.
    public func maxLifetimeS(for role: Role) -> Int64 { role == .student ? Self.maxStudentLifetimeS : maxLifetimeS }

    public func sign(_ claims: AccessClaims) -> String {
        var header = JSONWriter(capacity: 64)
        header.beginObject()
        header.field("alg", "HS256")
        header.field("typ", "JWT")
        header.field("kid", currentKid)
        header.endObject()
        var payload = JSONWriter(capacity: 128)
        payload.beginObject()
        payload.field("sub", claims.sub)
        payload.field("role", claims.role.rawValue)
        payload.field("iat", claims.iat)
        payload.field("exp", claims.exp)
        payload.field("cls", ifPresent: claims.cls)
        payload.endObject()
        let signingInput = Base64URL.encode(header.bytes) + "." + Base64URL.encode(payload.bytes)
        // The current key is present by the initializer's precondition.
        let signature = Crypto.hmacSHA256(key: keys[currentKid] ?? [], message: signingInput)
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// HMAC-SHA256 of `message` with the key `kid` (nil when no such key is configured), for the
    /// other tokens the processes sign with the same rotating keys (scan receipts). Callers put a
    /// domain prefix of their own in `message`, so no such MAC can stand in for a JWT signature.
    public func hmac(_ message: [UInt8], kid: String) -> [UInt8]? {
        keys[kid].map { Crypto.hmacSHA256(key: $0, message: message) }
    }

    /// Verifies `token` at `nowS` (seconds since the epoch). The header is read first only to pick
    /// the key; nothing from the payload is trusted until the signature matched.
    public func verify(_ token: String, nowS: Int64) -> Result<AccessClaims, TokenError> {
        let bytes = Array(token.utf8)
        guard bytes.count <= Self.maxTokenLength else { return .failure(.malformed) }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = Base64URL.decode(parts[0]),
              let header = try? JSON.parse(headerBytes), header.object != nil,
              let signature = Base64URL.decode(parts[2])
        else { return .failure(.malformed) }

        guard header["alg"]?.string == "HS256", header["crit"] == nil else { return .failure(.unsupportedAlgorithm) }
        let key: [UInt8]
        switch header["kid"] {
        case nil:
            key = keys[currentKid] ?? []
        case .string(let kid)?:
            guard let found = keys[kid] else { return .failure(.unknownKey) }
            key = found
        default:
            return .failure(.malformed)
        }
        let signingInput = bytes[..<(parts[1].endIndex)]
        guard Crypto.constantTimeEqual(Crypto.hmacSHA256(key: key, message: Array(signingInput)), signature) else {
            return .failure(.badSignature)
        }

        guard let payloadBytes = Base64URL.decode(parts[1]), let payload = try? JSON.parse(payloadBytes),
              payload.object != nil
        else { return .failure(.malformed) }
        guard let sub = payload["sub"]?.string, Identifier.isValid(sub),
              let roleName = payload["role"]?.string, let role = Role(rawValue: roleName),
              let exp = payload["exp"]?.int
        else { return .failure(.invalidClaims) }
        // `iat` is required: without it a token's lifetime cannot be bounded.
        guard let iat = payload["iat"]?.int else { return .failure(.invalidClaims) }
        var nbf: Int64?
        if let value = payload["nbf"] {
            guard let parsed = value.int else { return .failure(.invalidClaims) }
            nbf = parsed
        }
        var cls: String?
        if let value = payload["cls"], !value.isNull {
            guard let parsed = value.string, Identifier.isValid(parsed) else { return .failure(.invalidClaims) }
            cls = parsed
        }
        // Written so that no arithmetic can overflow on hostile claims.
        guard nowS - Self.expiryLeewayS < exp else { return .failure(.expired) }
        guard iat <= nowS + Self.futureSkewS, (nbf ?? iat) <= nowS + Self.futureSkewS else { return .failure(.notYetValid) }
        let (lifetime, overflow) = exp.subtractingReportingOverflow(iat)
        guard !overflow, lifetime <= maxLifetimeS(for: role) else { return .failure(.lifetimeTooLong) }
        return .success(AccessClaims(sub: sub, role: role, iat: iat, exp: exp, cls: cls))
    }
}
