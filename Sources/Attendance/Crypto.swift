import COpenSSL

/// The few OpenSSL primitives the domain needs, wrapped so callers never touch C buffers.
public enum Crypto {
    /// HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    // A non-nil key pointer even for an empty key: OpenSSL treats NULL as "reuse the last key".
                    let keyPointer = k.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(o.baseAddress!)
                    let result = HMAC(EVP_sha256(), keyPointer, Int32(k.count), m.baseAddress, m.count,
                                      o.baseAddress, &length)
                    precondition(result != nil, "HMAC-SHA256 failed")
                }
            }
        }
        return out
    }

    /// HMAC-SHA256 of a string message.
    public static func hmacSHA256(key: [UInt8], message: String) -> [UInt8] {
        hmacSHA256(key: key, message: Array(message.utf8))
    }

    /// `count` cryptographically random bytes. A failing RAND_bytes means the process cannot make
    /// secure tokens at all, so it stops rather than hand out guessable ids.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let rc = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        precondition(rc == 1, "RAND_bytes failed")
        return out
    }

    /// Equality whose running time does not depend on where the inputs differ (CRYPTO_memcmp).
    /// Lengths are not secret (a MAC's length is public), so a length mismatch returns at once.
    public static func constantTimeEqual<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        let left = Array(a), right = Array(b)
        guard left.count == right.count else { return false }
        guard !left.isEmpty else { return true }
        return left.withUnsafeBytes { l in
            right.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
        }
    }
}

extension Crypto {
    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in _ = SHA256(b.baseAddress, b.count, o.baseAddress) }
        }
        return out
    }
}
