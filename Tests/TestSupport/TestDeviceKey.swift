import COpenSSL

/// A device's P-256 key pair for tests: what the student page's WebCrypto key does (sign, r ‖ s).
/// Product code only ever verifies (`DeviceKey`); signing lives here.
public final class TestDeviceKey {
    private let key: OpaquePointer
    /// The 65-byte uncompressed public point.
    public let point: [UInt8]

    public init() {
        var point = [UInt8](repeating: 0, count: 65)
        let key = point.withUnsafeMutableBufferPointer { att_p256_generate($0.baseAddress) }
        precondition(key != nil, "P-256 key generation failed")
        self.key = key!
        self.point = point
    }

    deinit { EVP_PKEY_free(key) }

    /// The public JWK as a JSON object text.
    public var jwk: String {
        let x = Self.base64url(point[1..<33]), y = Self.base64url(point[33..<65])
        return #"{"kty":"EC","crv":"P-256","x":"\#(x)","y":"\#(y)"}"#
    }

    /// The 64-byte r ‖ s signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: 64)
        let ok = message.withUnsafeBufferPointer { m in
            signature.withUnsafeMutableBufferPointer { s in att_p256_sign(key, m.baseAddress, m.count, s.baseAddress) }
        }
        precondition(ok == 1, "P-256 signing failed")
        return signature
    }

    /// `device_sig` for `class_id|student_id|proof|client_time_ms`.
    public func deviceSig(classId: String, studentId: String, proof: String, clientTimeMs: Int64) -> String {
        Self.base64url(sign(Array("\(classId)|\(studentId)|\(proof)|\(clientTimeMs)".utf8)))
    }

    public static func base64url<C: Collection<UInt8>>(_ bytes: C) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var bits = 0, value = 0
        for byte in bytes {
            value = value << 8 | Int(byte)
            bits += 8
            while bits >= 6 { bits -= 6; out.append(table[(value >> bits) & 63]) }
            value &= (1 << bits) - 1
        }
        if bits > 0 { out.append(table[(value << (6 - bits)) & 63]) }
        return String(decoding: out, as: UTF8.self)
    }
}
