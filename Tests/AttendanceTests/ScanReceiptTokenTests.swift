import Attendance
import JSON
import XCTest

final class ScanReceiptTokenTests: XCTestCase {
    let signer = TokenSigner(keys: ["k1": Array(String(repeating: "a", count: 32).utf8),
                                    "k|2": Array(String(repeating: "b", count: 32).utf8)], currentKid: "k|2")

    /// RFC 9449 §6.1 (DPoP) gives this P-256 key's RFC 7638 thumbprint.
    func testThumbprintKnownAnswer() throws {
        let jwk = try JSON.parse(Array(#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#.utf8))
        XCTAssertEqual(try XCTUnwrap(DeviceKey(jwk: jwk)).thumbprint, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    }

    func testRoundTripAndTampering() {
        let receipt = ScanReceipt(classId: "c.1", window: 123, issuedMs: 1000, expiresMs: 121_000, thumbprint: "abc-_")
        let text = receipt.seal(signer)
        XCTAssertEqual(ScanReceipt.open(text, signer: signer), receipt, "a kid containing '|' still parses")
        // Every single-character change of the text is refused.
        let chars = Array(text)
        for index in chars.indices where chars[index] != "." {
            var changed = chars
            changed[index] = chars[index] == "A" ? "B" : "A"
            XCTAssertNil(ScanReceipt.open(String(changed), signer: signer), "changed at \(index)")
        }
        // Another deployment's keys, a dropped key, garbage and oversized texts.
        XCTAssertNil(ScanReceipt.open(text, signer: TokenSigner(secret: String(repeating: "c", count: 32), kid: "k|2")))
        XCTAssertNil(ScanReceipt.open(text, signer: TokenSigner(keys: ["k1": Array(String(repeating: "a", count: 32).utf8)], currentKid: "k1")))
        for bad in ["", ".", "a.b", "..", String(repeating: "A", count: 600)] { XCTAssertNil(ScanReceipt.open(bad, signer: signer)) }
        // A JWT made with the same key is no receipt.
        let jwt = signer.sign(AccessClaims(sub: "s", role: .student, iat: 1, exp: 2))
        XCTAssertNil(ScanReceipt.open(jwt, signer: signer))
    }
}
