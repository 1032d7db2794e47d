/// Why a server refuses an upgrade request. `status` and `message` are the one mapping to the HTTP
/// rejection (`WebSocketHandshake.rejectionBytes(for:)`).
public enum WebSocketHandshakeError: Error, Equatable, Sendable {
    case methodNotGet
    /// No `Upgrade: websocket`.
    case missingUpgrade
    /// No `upgrade` token in `Connection`.
    case missingConnectionUpgrade
    /// `Sec-WebSocket-Key` missing or not the base64 form of 16 bytes.
    case invalidKey
    /// `Sec-WebSocket-Version` missing or not 13 (answered with 426 and the version we speak, §4.4).
    case unsupportedVersion

    public var status: Int { self == .unsupportedVersion ? 426 : 400 }

    /// Fixed ASCII messages, safe to put in a JSON string without escaping.
    public var message: String {
        switch self {
        case .methodNotGet: return "WebSocket upgrade requires GET"
        case .missingUpgrade: return "missing Upgrade: websocket header"
        case .missingConnectionUpgrade: return "missing Connection: Upgrade header"
        case .invalidKey: return "missing or invalid Sec-WebSocket-Key"
        case .unsupportedVersion: return "unsupported Sec-WebSocket-Version; use 13"
        }
    }
}
