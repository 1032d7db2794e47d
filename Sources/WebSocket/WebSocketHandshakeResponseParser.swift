/// Reads a server's answer to a client upgrade request, incrementally: feed it each read until it
/// reports the upgrade, then hand the rest of that read (bytes the server sent after its 101, e.g. a
/// first message) to the frame parser.
public struct WebSocketHandshakeResponseParser {
    /// A response head larger than this is refused rather than buffered.
    public static let maxHeadSize = 16 * 1024

    let expectedAccept: String
    var head: [UInt8] = []
    /// How much of "\r\n\r\n" the last bytes matched.
    var matched = 0

    /// `key` is the `Sec-WebSocket-Key` that was sent.
    public init(key: String) {
        expectedAccept = WebSocketHandshake.acceptKey(for: key)
    }

    /// Consumes bytes from `input`. Returns false while the head is incomplete (all of `input` was
    /// taken); returns true when the upgrade succeeded, with `input` left holding the bytes that
    /// followed the head. Throws if the answer is not a valid upgrade.
    public mutating func parse(_ input: inout UnsafeRawBufferPointer) throws(WebSocketClientError) -> Bool {
        let terminator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        var end = -1
        for (i, byte) in input.enumerated() {
            if byte == terminator[matched] {
                matched += 1
                if matched == 4 { end = i + 1; break }
            } else {
                matched = byte == 0x0D ? 1 : 0
            }
        }
        let taken = end < 0 ? input.count : end
        guard head.count + taken <= Self.maxHeadSize else { throw .handshakeFailed("response head too large") }
        head.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[..<taken]))
        input = UnsafeRawBufferPointer(rebasing: input[taken...])
        guard end >= 0 else { return false }
        try validate()
        head = []
        return true
    }

    private func validate() throws(WebSocketClientError) {
        let lines = head.split(separator: 0x0A, omittingEmptySubsequences: true).map { line -> Substring in
            let bytes = line.last == 0x0D ? line.dropLast() : line[...]
            return Substring(String(decoding: bytes, as: UTF8.self))
        }
        guard let status = lines.first else { throw .handshakeFailed("empty response") }
        let parts = status.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1.") else { throw .handshakeFailed("malformed status line") }
        guard parts[1] == "101" else { throw .handshakeFailed("status \(parts[1])") }
        var upgrade = false, connection = false, accept = false
        for line in lines.dropFirst() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw .handshakeFailed("malformed header line") }
            let name = line[..<colon]
            let value = WebSocketHandshake.trimmed(String(line[line.index(after: colon)...]))
            if WebSocketHandshake.asciiEqualsIgnoringCase(name.utf8, "Upgrade".utf8) {
                upgrade = WebSocketHandshake.tokenList(value, contains: "websocket")
            } else if WebSocketHandshake.asciiEqualsIgnoringCase(name.utf8, "Connection".utf8) {
                connection = WebSocketHandshake.tokenList(value, contains: "upgrade")
            } else if WebSocketHandshake.asciiEqualsIgnoringCase(name.utf8, "Sec-WebSocket-Accept".utf8) {
                accept = value == expectedAccept
            }
        }
        guard upgrade else { throw .handshakeFailed("missing Upgrade: websocket") }
        guard connection else { throw .handshakeFailed("missing Connection: Upgrade") }
        guard accept else { throw .handshakeFailed("missing or wrong Sec-WebSocket-Accept") }
    }
}
