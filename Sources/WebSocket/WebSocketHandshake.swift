import COpenSSL

/// The opening handshake of RFC 6455 §4, both sides. The server side does not depend on an HTTP
/// module: it takes the request's method and a header lookup, and writes its own raw responses.
public enum WebSocketHandshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
    public static func acceptKey(for key: String) -> String {
        var input = Array((key + guid).utf8)
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        _ = SHA1(&input, input.count, &digest)
        return base64(digest)
    }

    // MARK: server

    /// Checks an upgrade request (§4.2.1). `header` looks a header up by name, case-insensitively, and
    /// returns its (combined) value. On success returns the `Sec-WebSocket-Accept` value.
    public static func validateServerRequest(method: String,
                                             header: (String) -> String?) -> Result<String, WebSocketHandshakeError> {
        guard method == "GET" else { return .failure(.methodNotGet) }
        guard let upgrade = header("Upgrade"), tokenList(upgrade, contains: "websocket") else {
            return .failure(.missingUpgrade)
        }
        guard let connection = header("Connection"), tokenList(connection, contains: "upgrade") else {
            return .failure(.missingConnectionUpgrade)
        }
        guard let version = header("Sec-WebSocket-Version"), trimmed(version) == "13" else {
            return .failure(.unsupportedVersion)
        }
        guard let rawKey = header("Sec-WebSocket-Key") else { return .failure(.invalidKey) }
        let key = trimmed(rawKey)
        guard isBase64Of16Bytes(key) else { return .failure(.invalidKey) }
        return .success(acceptKey(for: key))
    }

    /// The 101 response that completes a server handshake.
    public static func responseBytes(accept: String) -> [UInt8] {
        Array(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: \(accept)\r\n\r\n").utf8)
    }

    /// The 400 or 426 response for a refused upgrade, with the project's JSON error body; the server
    /// closes the connection after it.
    public static func rejectionBytes(for error: WebSocketHandshakeError) -> [UInt8] {
        let body = "{\"error\":{\"code\":\"bad_request\",\"message\":\"\(error.message)\"}}"
        let statusLine = error.status == 426 ? "426 Upgrade Required" : "400 Bad Request"
        var head = "HTTP/1.1 \(statusLine)\r\nContent-Type: application/json\r\n"
        if error == .unsupportedVersion { head += "Sec-WebSocket-Version: 13\r\n" }
        head += "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        return Array((head + body).utf8)
    }

    // MARK: client

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes from OpenSSL's CSPRNG, base64.
    public static func randomKey() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        if RAND_bytes(&bytes, 16) != 1 {
            // RAND_bytes fails only if the CSPRNG cannot be seeded; the key is a nonce against caching
            // proxies, not a secret, so the system generator is an acceptable fallback.
            var rng = SystemRandomNumberGenerator()
            for i in 0..<16 { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        }
        return base64(bytes)
    }

    /// A client's upgrade request. `path` includes any query (e.g. `/ws?access_token=…`).
    public static func clientRequest(host: String, path: String, key: String,
                                     extraHeaders: [(String, String)] = []) -> [UInt8] {
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in extraHeaders { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    // MARK: helpers

    static func base64(_ bytes: [UInt8]) -> String {
        var output = [UInt8](repeating: 0, count: (bytes.count + 2) / 3 * 4 + 1)
        let written = bytes.withUnsafeBufferPointer { input in
            EVP_EncodeBlock(&output, input.baseAddress, Int32(input.count))
        }
        return String(decoding: output.prefix(Int(max(written, 0))), as: UTF8.self)
    }

    static func isBase64Of16Bytes(_ key: String) -> Bool {
        let utf8 = Array(key.utf8)
        guard utf8.count == 24, utf8[22] == UInt8(ascii: "="), utf8[23] == UInt8(ascii: "=") else { return false }
        return utf8[0..<22].allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
                || c == UInt8(ascii: "+") || c == UInt8(ascii: "/")
        }
    }

    /// Whether a comma-separated header value lists `token` (ASCII case-insensitive, whitespace trimmed).
    static func tokenList(_ value: String, contains token: String) -> Bool {
        value.utf8.split(separator: UInt8(ascii: ",")).contains { item in
            asciiEqualsIgnoringCase(trimmed(item), token.utf8)
        }
    }

    static func trimmed(_ value: String) -> String {
        String(decoding: trimmed(Substring(value).utf8), as: UTF8.self)
    }

    static func trimmed(_ bytes: Substring.UTF8View) -> Substring.UTF8View {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return slice
    }

    static func asciiEqualsIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            let lx = x >= 0x41 && x <= 0x5A ? x | 0x20 : x
            let ly = y >= 0x41 && y <= 0x5A ? y | 0x20 : y
            return lx == ly
        }
    }
}
