import COpenSSL
import EventLoop
import Foundation
import HTTP

/// A small OpenID Connect provider on a real loopback socket, for the cases a real provider will not
/// produce: forged signatures, wrong `aud`/`iss`, expired tokens, a wrong `nonce`, `alg: none`, ES256,
/// an unknown `kid` after a key rotation, and a token endpoint that checks PKCE. It runs on the
/// test's loop: discovery, JWKS, an authorization endpoint that approves `user` at once (no login
/// page), and the token endpoint. `http://127.0.0.1` is allowed for a loopback provider.
public final class TestOIDCProvider {
    public let clientId: String
    public let clientSecret: String?
    private var server: HTTPServer!
    public var issuer: String { "http://127.0.0.1:\(server.address.port)" }

    /// Keys published at `/jwks`, and the one id_tokens are signed with (not necessarily published).
    public var publishedKeys: [TestSigningKey]
    public var signingKey: TestSigningKey
    /// Claims of the signed-in user (JSON members without braces), e.g. `"email":"ada@school.example"`.
    public var userClaims = #""sub":"u-ada","email":"ada@school.example","name":"Ada Lovelace""#
    /// Faults to inject into the next id_tokens.
    public var issOverride: String?
    public var audOverride: String?
    public var expOffsetS: Int64 = 300
    public var nonceOverride: String?
    public var algNone = false
    /// Answer the authorization request with `?error=access_denied` instead of a code.
    public var denyAuthorization = false

    /// Requests seen per path, to check caching.
    public private(set) var hits: [String: Int] = [:]
    /// The token endpoint's last refusal (`invalid_grant: …`), for tests that expect one.
    public private(set) var lastTokenError: String?

    private struct IssuedCode {
        let challenge: String
        let nonce: String
        let redirectURI: String
    }
    private var codes: [String: IssuedCode] = [:]

    public init(loop: EventLoop, keys: [TestSigningKey], clientId: String = "attendance", clientSecret: String? = nil) throws {
        publishedKeys = keys
        signingKey = keys[0]
        self.clientId = clientId
        self.clientSecret = clientSecret
        server = try HTTPServer(loop: loop, address: try SocketAddress(parsing: "127.0.0.1:0")) { [unowned self] request, responder in
            responder.send(self.handle(request))
        }
    }

    public func close() { server.close() }

    private func handle(_ request: HTTPRequest) -> HTTPResponse {
        hits[request.path, default: 0] += 1
        switch (request.method, request.path) {
        case ("GET", "/.well-known/openid-configuration"):
            return .json(200, Array(#"{"issuer":"\#(issuer)","authorization_endpoint":"\#(issuer)/authorize","token_endpoint":"\#(issuer)/token","jwks_uri":"\#(issuer)/jwks","response_types_supported":["code"],"id_token_signing_alg_values_supported":["RS256","ES256"]}"#.utf8))
        case ("GET", "/jwks"):
            return .json(200, Array(TestSigningKey.jwks(publishedKeys).utf8))
        case ("GET", "/authorize"):
            return authorize(request)
        case ("POST", "/token"):
            return token(request)
        default:
            return .json(404, Array(#"{"error":"not_found"}"#.utf8))
        }
    }

    private func authorize(_ request: HTTPRequest) -> HTTPResponse {
        guard let redirect = request.query("redirect_uri"), let state = request.query("state"),
              request.query("client_id") == clientId, request.query("response_type") == "code",
              request.query("scope")?.split(separator: " ").contains("openid") == true,
              request.query("code_challenge_method") == "S256", let challenge = request.query("code_challenge"),
              let nonce = request.query("nonce")
        else { return .json(400, Array(#"{"error":"invalid_request"}"#.utf8)) }
        var response = HTTPResponse(status: 302)
        if denyAuthorization {
            response.headers.add("Location", redirect + "?error=access_denied&state=" + FormEncoding.escape(state))
            return response
        }
        let code = TestDeviceKey.base64url((0..<16).map { _ in UInt8.random(in: 0...255) })
        codes[code] = IssuedCode(challenge: challenge, nonce: nonce, redirectURI: redirect)
        response.headers.add("Location", redirect + "?code=" + code + "&state=" + FormEncoding.escape(state))
        return response
    }

    private func token(_ request: HTTPRequest) -> HTTPResponse {
        let form = Self.decodeForm(request.body)
        func refuse(_ why: String) -> HTTPResponse {
            lastTokenError = why
            return .json(400, Array(#"{"error":"invalid_grant","error_description":"\#(why)"}"#.utf8))
        }
        if let clientSecret {
            let expected = "Basic " + Data("\(clientId):\(clientSecret)".utf8).base64EncodedString()
            guard request.headers["Authorization"] == expected else { return refuse("client authentication failed") }
        } else {
            guard form["client_id"] == clientId else { return refuse("client_id") }
        }
        // A code is good once (RFC 6749 §4.1.2).
        guard form["grant_type"] == "authorization_code", let code = form["code"], let issued = codes.removeValue(forKey: code)
        else { return refuse("unknown or used code") }
        guard form["redirect_uri"] == issued.redirectURI else { return refuse("redirect_uri") }
        // RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) must equal the code_challenge.
        guard let verifier = form["code_verifier"],
              TestDeviceKey.base64url(Self.sha256(Array(verifier.utf8))) == issued.challenge
        else { return refuse("PKCE verification failed") }
        let now = Int64(Date().timeIntervalSince1970)
        let aud = audOverride ?? clientId
        let payload = #"{"iss":"\#(issOverride ?? issuer)","aud":"\#(aud)","iat":\#(now),"exp":\#(now + expOffsetS),"nonce":"\#(nonceOverride ?? issued.nonce)",\#(userClaims)}"#
        let idToken: String
        if algNone {
            idToken = TestDeviceKey.base64url(Array(#"{"alg":"none"}"#.utf8)) + "." + TestDeviceKey.base64url(Array(payload.utf8)) + "."
        } else {
            idToken = signingKey.sign(payload: payload)
        }
        return .json(200, Array(#"{"access_token":"at","token_type":"Bearer","expires_in":300,"id_token":"\#(idToken)"}"#.utf8))
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = bytes.withUnsafeBufferPointer { SHA256($0.baseAddress, $0.count, &out) }
        return out
    }

    static func decodeForm(_ body: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            out[percentDecode(parts[0])] = percentDecode(parts[1])
        }
        return out
    }

    static func percentDecode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.endIndex,
               let value = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(value)
                i += 3
            } else {
                out.append(bytes[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

@available(*, unavailable)
extension TestOIDCProvider: Sendable {}
