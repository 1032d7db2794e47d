import Attendance
import JSON
import TestSupport
import XCTest

/// id_token verification with keys made in the test by OpenSSL: RS256 and ES256 signatures, the
/// algorithms refused, and every claim check of OpenID Connect Core §3.1.3.7.
final class IDTokenVerifierTests: XCTestCase {
    static let rsa = TestSigningKey(rsaBits: 2048, kid: "r1")
    static let ec = TestSigningKey(p256Kid: "e1")
    let verifier = IDTokenVerifier(issuer: "https://idp.example", clientId: "att")
    let now: Int64 = 1_900_000_000

    var keys: JSONWebKeySet { JSONWebKeySet(json: Array(TestSigningKey.jwks([Self.rsa, Self.ec]).utf8))! }

    func claims(iss: String = "https://idp.example", aud: String = #""att""#, exp: Int64? = nil, iat: Int64? = nil,
                nonce: String = "n-1", extra: String = "") -> String {
        #"{"iss":"\#(iss)","aud":\#(aud),"sub":"u1","email":"ada@school.example","exp":\#(exp ?? now + 300),"iat":\#(iat ?? now),"nonce":"\#(nonce)"\#(extra)}"#
    }

    func verify(_ token: String, nonce: String = "n-1") throws(IDTokenError) -> JSONObject {
        try verifier.verify(token, keys: keys, nonce: nonce, nowS: now)
    }

    func assertRefused(_ token: String, _ expected: IDTokenError, nonce: String = "n-1", line: UInt = #line) {
        XCTAssertThrowsError(try verify(token, nonce: nonce), line: line) { XCTAssertEqual($0 as? IDTokenError, expected, line: line) }
    }

    func testRS256AndES256Verify() throws {
        for key in [Self.rsa, Self.ec] {
            let verified = try verify(key.sign(payload: claims()))
            XCTAssertEqual(verified["email"]?.string, "ada@school.example")
        }
    }

    func testTamperedSignatureOrPayloadIsRefused() {
        let token = Self.rsa.sign(payload: claims())
        let parts = token.split(separator: ".").map(String.init)
        let forgedPayload = TestDeviceKey.base64url(Array(claims(extra: #","email_verified":true,"x":1"#).utf8))
        assertRefused(parts[0] + "." + forgedPayload + "." + parts[2], .badSignature)
        var signature = Array(parts[2].utf8)
        signature[10] = signature[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        assertRefused(parts[0] + "." + parts[1] + "." + String(decoding: signature, as: UTF8.self), .badSignature)
        // Signed by a key the provider does not publish, under a published kid.
        let stranger = TestSigningKey(p256Kid: "e1")
        assertRefused(stranger.sign(payload: claims()), .badSignature)
    }

    func testAlgorithmNoneAndHMACAreRefused() {
        let payload = TestDeviceKey.base64url(Array(claims().utf8))
        let none = TestDeviceKey.base64url(Array(#"{"alg":"none","kid":"r1"}"#.utf8)) + "." + payload + "."
        assertRefused(none, .unsupportedAlgorithm("none"))
        // The classic confusion: HS256 keyed with the RSA public key's bytes.
        let hs = TestDeviceKey.base64url(Array(#"{"alg":"HS256","kid":"r1"}"#.utf8)) + "." + payload
        let mac = Crypto.hmacSHA256(key: Array(Self.rsa.jwk.utf8), message: Array(hs.utf8))
        assertRefused(hs + "." + TestDeviceKey.base64url(mac), .unsupportedAlgorithm("HS256"))
        assertRefused(Self.rsa.sign(payload: claims(), header: #"{"alg":"RS256","kid":"r1","crit":["exp"]}"#),
                      .unsupportedAlgorithm("crit"))
        // An ES256 header over an RSA key's kid finds no key of that algorithm.
        assertRefused(Self.rsa.sign(payload: claims(), header: #"{"alg":"ES256","kid":"r1"}"#), .unknownKey)
    }

    func testUnknownKidAndMissingKid() throws {
        assertRefused(TestSigningKey(rsaBits: 2048, kid: "r2").sign(payload: claims()), .unknownKey)
        // Without a kid, every key of the algorithm is tried.
        let token = Self.ec.sign(payload: claims(), header: #"{"alg":"ES256"}"#)
        XCTAssertEqual(try verify(token)["sub"]?.string, "u1")
    }

    func testIssuerAudienceAndAuthorizedParty() throws {
        assertRefused(Self.rsa.sign(payload: claims(iss: "https://evil.example")), .wrongIssuer)
        assertRefused(Self.rsa.sign(payload: claims(aud: #""other""#)), .wrongAudience)
        assertRefused(Self.rsa.sign(payload: claims(aud: #"["other","att"]"#)), .wrongAudience)
        assertRefused(Self.rsa.sign(payload: claims(aud: #"["other","att"]"#, extra: #","azp":"other""#)), .wrongAudience)
        XCTAssertNoThrow(try verify(Self.rsa.sign(payload: claims(aud: #"["other","att"]"#, extra: #","azp":"att""#))))
        XCTAssertNoThrow(try verify(Self.rsa.sign(payload: claims(aud: #"["att"]"#))))
    }

    func testTimesWithSixtySecondsOfSkew() {
        XCTAssertNoThrow(try verify(Self.rsa.sign(payload: claims(exp: now - 59))))
        assertRefused(Self.rsa.sign(payload: claims(exp: now - 60)), .expired)
        XCTAssertNoThrow(try verify(Self.rsa.sign(payload: claims(iat: now + 60))))
        assertRefused(Self.rsa.sign(payload: claims(iat: now + 61)), .notYetValid)
        assertRefused(Self.rsa.sign(payload: claims(extra: #","nbf":\#(now + 120)"#)), .notYetValid)
        assertRefused(Self.rsa.sign(payload: #"{"iss":"https://idp.example","aud":"att","iat":\#(now),"nonce":"n-1"}"#), .missingClaim("exp"))
        assertRefused(Self.rsa.sign(payload: claims(exp: Int64.min)), .expired)
    }

    func testNonceMustMatch() {
        assertRefused(Self.rsa.sign(payload: claims(nonce: "n-2")), .wrongNonce)
        assertRefused(Self.rsa.sign(payload: #"{"iss":"https://idp.example","aud":"att","exp":\#(now + 60),"iat":\#(now)}"#), .wrongNonce)
    }

    func testMalformedTokens() {
        for token in ["", "a.b", "a.b.c.d", "!!.!!.!!", String(repeating: "a", count: 20_000)] {
            assertRefused(token, .malformed)
        }
    }

    func testWeakRSAKeysAndPrivateOrEncryptionKeysAreNotUsed() throws {
        let weak = TestSigningKey(rsaBits: 1024, kid: "w1")
        let set = JSONWebKeySet(json: Array(TestSigningKey.jwks([weak]).utf8))!
        XCTAssertThrowsError(try verifier.verify(weak.sign(payload: claims()), keys: set, nonce: "n-1", nowS: now)) {
            XCTAssertEqual($0 as? IDTokenError, .badSignature)
        }
        let document = #"{"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB","kid":"x"},{"kty":"EC","crv":"P-384","x":"AA","y":"AA"},"#
            + #"{"kty":"oct","k":"c2VjcmV0"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"bad"},"#
            + #"{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"},\#(Self.ec.jwk)]}"#
        XCTAssertEqual(JSONWebKeySet(json: Array(document.utf8))?.keys.map(\.kid), ["e1"])
        XCTAssertNil(JSONWebKeySet(json: Array(#"{"keys":{}}"#.utf8)))
        XCTAssertNil(JSONWebKeySet(json: Array("[".utf8)))
    }

    func testDiscoveryDocumentMustNameTheIssuer() {
        let good = #"{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/auth","token_endpoint":"https://idp.example/token","jwks_uri":"https://idp.example/jwks"}"#
        XCTAssertEqual(OIDCDiscovery(json: Array(good.utf8), issuer: "https://idp.example")?.jwksURI, "https://idp.example/jwks")
        XCTAssertNil(OIDCDiscovery(json: Array(good.utf8), issuer: "https://other.example"))
        let plain = good.replacingOccurrences(of: "https://idp.example/token", with: "http://idp.example/token")
        XCTAssertNil(OIDCDiscovery(json: Array(plain.utf8), issuer: "https://idp.example"))
        XCTAssertTrue(OIDCDiscovery.isAllowedURL("http://127.0.0.1:9000/token"))
        XCTAssertFalse(OIDCDiscovery.isAllowedURL("http://localhost.evil.example/token"))
    }

    func testRoleMappingAndAllowList() throws {
        var settings = OIDCSettings(issuer: "https://idp.example", clientId: "att", redirectURL: "https://att.example/v1/auth/oidc/callback")
        XCTAssertFalse(settings.teachersEnabled)
        settings.roleClaim = "groups"
        settings.teacherValues = ["staff"]
        settings.adminValues = ["it"]
        settings.allowList = try OIDCSettings.parseAllowList("# who\nboss@school.example admin\n\n  t2@school.example   teacher # note\n")
        XCTAssertTrue(settings.teachersEnabled)
        func role(_ id: String, _ claims: String) -> Role? {
            settings.staffRole(id: id, claims: (try! JSON.parse(Array(claims.utf8))).object!)
        }
        XCTAssertEqual(role("a@s", #"{"groups":["x","staff"]}"#), .teacher)
        XCTAssertEqual(role("a@s", #"{"groups":["staff","it"]}"#), .admin)
        XCTAssertEqual(role("a@s", #"{"groups":"staff"}"#), .teacher)
        XCTAssertNil(role("a@s", #"{"groups":["pupil"]}"#))
        XCTAssertEqual(role("boss@school.example", #"{}"#), .admin)
        XCTAssertEqual(role("t2@school.example", #"{"groups":["it"]}"#), .teacher)
        XCTAssertThrowsError(try OIDCSettings.parseAllowList("x student\n"))
        XCTAssertThrowsError(try OIDCSettings.parseAllowList("x teacher extra\n"))
        let claims = (try JSON.parse(Array(#"{"email":"ada@school.example","email_verified":false}"#.utf8))).object!
        XCTAssertNil(settings.subjectId(claims: claims))
        XCTAssertEqual(settings.subjectId(claims: (try JSON.parse(Array(#"{"email":"ada@school.example"}"#.utf8))).object!), "ada@school.example")
        XCTAssertNil(settings.subjectId(claims: (try JSON.parse(Array(#"{"email":"@ada"}"#.utf8))).object!))
    }
}
