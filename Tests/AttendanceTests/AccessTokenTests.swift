@testable import Attendance
import JSON
import XCTest

final class AccessTokenTests: XCTestCase {
    let now: Int64 = 1_732_540_000
    let signer = TokenSigner(secret: "dev-secret-change-me", kid: "k1")

    func claims(exp: Int64? = nil, cls: String? = nil, role: Role = .teacher) -> AccessClaims {
        AccessClaims(sub: "t1", role: role, iat: now, exp: exp ?? now + 3600, cls: cls)
    }

    func testSignAndVerify() throws {
        let token = signer.sign(claims(cls: "c_1", role: .student))
        XCTAssertEqual(token.split(separator: ".").count, 3)
        XCTAssertEqual(try signer.verify(token, nowS: now).get(), claims(cls: "c_1", role: .student))
        let header = try JSON.parse(Base64URL.decode(String(token.split(separator: ".")[0]))!)
        XCTAssertEqual(header["alg"]?.string, "HS256")
        XCTAssertEqual(header["typ"]?.string, "JWT")
        XCTAssertEqual(header["kid"]?.string, "k1")
    }

    func testExpiryWithLeeway() {
        let token = signer.sign(claims(exp: now))
        XCTAssertNoThrow(try signer.verify(token, nowS: now + TokenSigner.expiryLeewayS - 1).get())
        XCTAssertEqual(signer.verify(token, nowS: now + TokenSigner.expiryLeewayS), .failure(.expired))
    }

    func testWrongKeyIsRejected() {
        let other = TokenSigner(secret: "another-secret", kid: "k1")
        XCTAssertEqual(signer.verify(other.sign(claims()), nowS: now), .failure(.badSignature))
    }

    func testKeyRotation() {
        let old = TokenSigner(keys: ["k1": Array("old".utf8)], currentKid: "k1")
        let rotated = TokenSigner(keys: ["k1": Array("old".utf8), "k2": Array("new".utf8)], currentKid: "k2")
        let newOnly = TokenSigner(keys: ["k2": Array("new".utf8)], currentKid: "k2")
        let oldToken = old.sign(claims())
        let newToken = rotated.sign(claims())
        XCTAssertNoThrow(try rotated.verify(oldToken, nowS: now).get())
        XCTAssertNoThrow(try rotated.verify(newToken, nowS: now).get())
        XCTAssertNoThrow(try newOnly.verify(newToken, nowS: now).get())
        XCTAssertEqual(newOnly.verify(oldToken, nowS: now), .failure(.unknownKey))
    }

    func testMissingKidUsesCurrentKey() {
        let token = forge(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: payload(), key: "dev-secret-change-me")
        XCTAssertNoThrow(try signer.verify(token, nowS: now).get())
    }

    func testAlgorithmNoneAndOthersAreRejected() {
        let body = Base64URL.encode(Array(payload().utf8))
        let none = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + body + "."
        XCTAssertEqual(signer.verify(none, nowS: now), .failure(.unsupportedAlgorithm))
        let signedNone = forge(header: #"{"alg":"none","kid":"k1"}"#, payload: payload(), key: "dev-secret-change-me")
        XCTAssertEqual(signer.verify(signedNone, nowS: now), .failure(.unsupportedAlgorithm))
        let hs512 = forge(header: #"{"alg":"HS512","kid":"k1"}"#, payload: payload(), key: "dev-secret-change-me")
        XCTAssertEqual(signer.verify(hs512, nowS: now), .failure(.unsupportedAlgorithm))
        let lower = forge(header: #"{"alg":"hs256","kid":"k1"}"#, payload: payload(), key: "dev-secret-change-me")
        XCTAssertEqual(signer.verify(lower, nowS: now), .failure(.unsupportedAlgorithm))
        let crit = forge(header: #"{"alg":"HS256","crit":["x"],"x":1}"#, payload: payload(), key: "dev-secret-change-me")
        XCTAssertEqual(signer.verify(crit, nowS: now), .failure(.unsupportedAlgorithm))
    }

    func testTamperedPayloadIsRejected() {
        let token = signer.sign(claims(role: .student))
        let parts = token.split(separator: ".").map(String.init)
        let admin = Base64URL.encode(Array(payload(role: "admin").utf8))
        XCTAssertEqual(signer.verify([parts[0], admin, parts[2]].joined(separator: "."), nowS: now), .failure(.badSignature))
        var signature = Array(parts[2].utf8)
        signature[0] = signature[0] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertEqual(signer.verify([parts[0], parts[1], String(decoding: signature, as: UTF8.self)].joined(separator: "."), nowS: now),
                       .failure(.badSignature))
    }

    func testMalformedTokens() {
        for bad in ["", "a", "a.b", "a.b.c.d", "....", "!!.!!.!!", "e30.e30.", String(repeating: "a", count: 5000)] {
            XCTAssertNotEqual((try? signer.verify(bad, nowS: now).get()).map { _ in true }, true, bad)
        }
        let notJSON = Base64URL.encode(Array("not json".utf8))
        XCTAssertEqual(signer.verify(notJSON + ".e30.AAAA", nowS: now), .failure(.malformed))
        let signedGarbage = forge(header: #"{"alg":"HS256"}"#, payload: "[1,2]", key: "dev-secret-change-me")
        XCTAssertEqual(signer.verify(signedGarbage, nowS: now), .failure(.malformed))
    }

    func testInvalidClaims() {
        let key = "dev-secret-change-me"
        let header = #"{"alg":"HS256","kid":"k1"}"#
        let cases = [
            #"{"sub":"t1","role":"teacher"}"#, // no exp
            #"{"sub":"t1","role":"janitor","exp":\#(now + 60)}"#,
            #"{"sub":"t 1","role":"teacher","exp":\#(now + 60)}"#,
            #"{"sub":"t1","role":"teacher","exp":"\#(now + 60)"}"#,
            #"{"sub":"t1","role":"student","exp":\#(now + 60),"cls":"a/b"}"#,
            #"{"sub":"t1","role":"teacher","exp":\#(now + 60),"iat":"x"}"#,
        ]
        for payload in cases {
            XCTAssertEqual(signer.verify(forge(header: header, payload: payload, key: key), nowS: now), .failure(.invalidClaims), payload)
        }
    }

    private func payload(role: String = "student") -> String {
        #"{"sub":"t1","role":"\#(role)","iat":\#(now),"exp":\#(now + 3600)}"#
    }

    /// A token with this payload, signed with the test key.
    private func forge(_ payload: String) -> String {
        forge(header: #"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, payload: payload, key: "dev-secret-change-me")
    }

    private func forge(header: String, payload: String, key: String) -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        return input + "." + Base64URL.encode(Crypto.hmacSHA256(key: Array(key.utf8), message: input))
    }

    func testIssuedInTheFutureIsRefusedBeyondSkew() {
        let soon = signer.sign(AccessClaims(sub: "t1", role: .teacher, iat: now + TokenSigner.futureSkewS, exp: now + 3600))
        XCTAssertNoThrow(try signer.verify(soon, nowS: now).get())
        let later = signer.sign(AccessClaims(sub: "t1", role: .teacher, iat: now + TokenSigner.futureSkewS + 1, exp: now + 3600))
        XCTAssertEqual(signer.verify(later, nowS: now), .failure(.notYetValid))
        let nbf = forge(#"{"sub":"t1","role":"teacher","iat":\#(now),"nbf":\#(now + 61),"exp":\#(now + 3600)}"#)
        XCTAssertEqual(signer.verify(nbf, nowS: now), .failure(.notYetValid))
        let nbfNow = forge(#"{"sub":"t1","role":"teacher","iat":\#(now),"nbf":\#(now),"exp":\#(now + 3600)}"#)
        XCTAssertNoThrow(try signer.verify(nbfNow, nowS: now).get())
        XCTAssertEqual(signer.verify(forge(#"{"sub":"t1","role":"teacher","exp":\#(now + 60)}"#), nowS: now), .failure(.invalidClaims),
                       "without iat a lifetime cannot be bounded")
    }

    func testLifetimeAboveTheMaximumIsRefused() {
        let day = signer.sign(AccessClaims(sub: "t1", role: .admin, iat: now, exp: now + TokenSigner.defaultMaxLifetimeS))
        XCTAssertNoThrow(try signer.verify(day, nowS: now).get())
        let longer = signer.sign(AccessClaims(sub: "t1", role: .teacher, iat: now, exp: now + TokenSigner.defaultMaxLifetimeS + 1))
        XCTAssertEqual(signer.verify(longer, nowS: now), .failure(.lifetimeTooLong))
        // Students: the longest class plus the grace the store adds.
        let student = signer.sign(AccessClaims(sub: "s1", role: .student, iat: now, exp: now + TokenSigner.maxStudentLifetimeS, cls: "c1"))
        XCTAssertNoThrow(try signer.verify(student, nowS: now).get())
        let tooLong = signer.sign(AccessClaims(sub: "s1", role: .student, iat: now, exp: now + TokenSigner.maxStudentLifetimeS + 1, cls: "c1"))
        XCTAssertEqual(signer.verify(tooLong, nowS: now), .failure(.lifetimeTooLong))
        let configured = TokenSigner(secret: "dev-secret-change-me", maxLifetimeS: 7 * 86_400)
        XCTAssertNoThrow(try configured.verify(configured.sign(AccessClaims(sub: "t1", role: .teacher, iat: now, exp: now + 7 * 86_400)), nowS: now).get())
        // Hostile extremes do not trap.
        let extreme = forge(#"{"sub":"t1","role":"teacher","iat":-9223372036854775808,"exp":9223372036854775807}"#)
        XCTAssertEqual(signer.verify(extreme, nowS: now), .failure(.lifetimeTooLong))
    }
}
