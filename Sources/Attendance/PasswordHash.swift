import COpenSSL

/// Password hashes for local accounts: scrypt (RFC 7914) via OpenSSL 3's EVP_KDF, stored as
/// `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (salt and hash base64url) so the parameters can be raised
/// later without invalidating stored hashes: each hash verifies with the parameters it carries.
///
/// Parameters: N = 2^15, r = 8, p = 1 — the cost OWASP's password storage guidance names for scrypt,
/// 32 MiB of memory and ~0.1 s per hash here, so an offline guesser with a stolen Redis dump pays the
/// same per guess while a login stays quick. The hashing is CPU-heavy: the api runs it off its loop.
public enum PasswordHash {
    public static let log2N = 15
    public static let r = 8
    public static let p = 1
    static let saltBytes = 16
    static let hashBytes = 32
    /// Passwords are bounded so a huge body cannot make one hash expensive or the stored text big.
    public static let minLength = 10
    public static let maxLength = 1024
    /// The highest stored cost a hash may name: a tampered record must not make a login take minutes.
    static let maxLog2N = 20

    /// Raw scrypt; nil when OpenSSL refuses (parameters out of range, out of memory).
    public static func scrypt(password: [UInt8], salt: [UInt8], n: UInt64, r: UInt32, p: UInt32, length: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: length)
        // OpenSSL's default memory cap (32 MiB) is just below what N = 2^15, r = 8 needs (128·r·N plus
        // 128·r·p); allow what the parameters need plus a margin.
        let maxmem = 128 * UInt64(r) * (n + UInt64(p)) + (1 << 20)
        let ok = password.withUnsafeBufferPointer { pass in
            salt.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    att_scrypt(pass.baseAddress, pass.count, s.baseAddress, s.count, n, r, p, maxmem, o.baseAddress, o.count)
                }
            }
        }
        return ok == 1 ? out : nil
    }

    /// A new stored hash of `password` with a fresh 16-byte salt from RAND_bytes.
    public static func make(_ password: String) -> String {
        let salt = Crypto.randomBytes(saltBytes)
        guard let hash = scrypt(password: Array(password.utf8), salt: salt, n: 1 << UInt64(log2N),
                                r: UInt32(r), p: UInt32(p), length: hashBytes)
        else { preconditionFailure("scrypt failed with the built-in parameters") }
        return "scrypt$\(log2N)$\(r)$\(p)$\(Base64URL.encode(salt))$\(Base64URL.encode(hash))"
    }

    /// Whether `password` matches `stored`; false for a malformed or out-of-bounds stored hash.
    public static func verify(_ password: String, stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let log2N = Int(parts[1]), (1...maxLog2N).contains(log2N),
              let r = UInt32(parts[2]), (1...32).contains(r), let p = UInt32(parts[3]), (1...16).contains(p),
              let salt = Base64URL.decode(parts[4]), let expected = Base64URL.decode(parts[5]), (16...64).contains(expected.count),
              let actual = scrypt(password: Array(password.utf8), salt: salt, n: 1 << UInt64(log2N), r: r, p: p, length: expected.count)
        else { return false }
        return Crypto.constantTimeEqual(actual, expected)
    }

    /// Verified instead of a real hash when the account does not exist, so an unknown id costs the
    /// same time as a wrong password (no user oracle). Its password is random and never known.
    public static let dummy: String = make(Base64URL.encode(Crypto.randomBytes(16)))
}
