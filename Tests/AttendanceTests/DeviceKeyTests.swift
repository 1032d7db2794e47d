import Attendance
import JSON
import TestSupport
import XCTest

final class DeviceKeyTests: XCTestCase {
    /// Made with Python `cryptography` 48 (private scalar 0x1234…cdef, ECDSA P-256/SHA-256, r ‖ s).
    static let x = "Rxw-dYxJBChbun5TEY7Q9SSt6wdX0lvS-Oew1236cUw"
    static let y = "3VIPesqKi5F6zDf1HejwybvjrYWDgucC3CWhLQn3qFg"
    static let signature = "hhov096A0CwhmmnFUMrjPyn3Yaj65Yg-CzWflEk9ZEKPl6P8rjMXDInEd9wN5SSVy6SRNjNXny6kEjP0dpB1vw"
    static let message = Array("c1|s1|c1.1.mac|1900000000000".utf8)

    func jwk(_ fields: String) -> JSONValue { try! JSON.parse(Array("{\(fields)}".utf8)) }

    var known: DeviceKey {
        DeviceKey(jwk: jwk(#""kty":"EC","crv":"P-256","x":"\#(Self.x)","y":"\#(Self.y)""#))!
    }

    func testKnownAnswerSignatureFromAnotherImplementation() {
        let signature = DeviceKey.decodeSignature(Self.signature)!
        XCTAssertTrue(known.verify(signature: signature, message: Self.message))
        XCTAssertEqual(known.keyId, "_R_uVVp8ysgK6jkpjAio-Q")
        XCTAssertEqual(DeviceKey.message(classId: "c1", studentId: "s1", proof: "c1.1.mac", clientTimeMs: 1_900_000_000_000),
                       Self.message)
        for index in [0, 31, 32, 63] {
            var flipped = signature
            flipped[index] ^= 0x01
            XCTAssertFalse(known.verify(signature: flipped, message: Self.message), "bit flipped in byte \(index)")
        }
        var tampered = Self.message
        tampered[tampered.count - 1] ^= 0x01
        XCTAssertFalse(known.verify(signature: signature, message: tampered))
        XCTAssertFalse(known.verify(signature: [UInt8](repeating: 0, count: 64), message: Self.message), "r = s = 0")
        XCTAssertFalse(known.verify(signature: [UInt8](repeating: 0xFF, count: 64), message: Self.message), "r, s ≥ n")
        XCTAssertFalse(known.verify(signature: Array(signature.prefix(63)), message: Self.message))
    }

    func testRoundTripWithGeneratedKeys() {
        let device = TestDeviceKey(), other = TestDeviceKey()
        let key = DeviceKey(jwk: try! JSON.parse(Array(device.jwk.utf8)))!
        XCTAssertEqual(key.point, device.point)
        XCTAssertEqual(DeviceKey(encoded: key.encoded), key)
        let message = Array("class|student|123456|42".utf8)
        XCTAssertTrue(key.verify(signature: device.sign(message), message: message))
        XCTAssertFalse(key.verify(signature: other.sign(message), message: message), "another device's key")
    }

    func testStrictJWK() {
        let good = #""kty":"EC","crv":"P-256","x":"\#(Self.x)","y":"\#(Self.y)""#
        XCTAssertNotNil(DeviceKey(jwk: jwk(good + #","ext":true,"key_ops":["verify"],"alg":"ES256""#)))
        XCTAssertNil(DeviceKey(jwk: jwk(good + #","d":"AAAA""#)), "a private key")
        XCTAssertNil(DeviceKey(jwk: jwk(good + #","alg":"RS256""#)))
        XCTAssertNil(DeviceKey(jwk: jwk(#""kty":"RSA","crv":"P-256","x":"\#(Self.x)","y":"\#(Self.y)""#)))
        XCTAssertNil(DeviceKey(jwk: jwk(#""kty":"EC","crv":"P-384","x":"\#(Self.x)","y":"\#(Self.y)""#)))
        XCTAssertNil(DeviceKey(jwk: jwk(#""kty":"EC","crv":"P-256","x":"\#(Self.x)""#)))
        XCTAssertNil(DeviceKey(jwk: jwk(#""kty":"EC","crv":"P-256","x":"\#(Self.x)=","y":"\#(Self.y)""#)), "padding")
        XCTAssertNil(DeviceKey(jwk: jwk(#""kty":"EC","crv":"P-256","x":"\#(Self.x)AAAA","y":"\#(Self.y)""#)), "33+ bytes")
        // y + 1: a point off the curve.
        var y = Base64URL.decode(Self.y)!
        y[31] ^= 0x01
        XCTAssertNil(DeviceKey(jwk: jwk(#""kty":"EC","crv":"P-256","x":"\#(Self.x)","y":"\#(Base64URL.encode(y))""#)))
        XCTAssertNil(DeviceKey(point: [4] + [UInt8](repeating: 0, count: 64)), "the point at infinity's encoding")
        XCTAssertNil(DeviceKey(jwk: .string("key")))
        XCTAssertNil(DeviceKey.decodeSignature(String(repeating: "A", count: 85)))
        XCTAssertNil(DeviceKey.decodeSignature(String(repeating: "A", count: 86) + "=="))
    }
}
