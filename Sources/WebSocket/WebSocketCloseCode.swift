/// Close status codes (RFC 6455 §7.4.1 and the IANA registry) that this project sends or reports.
public enum WebSocketCloseCode {
    public static let normal: UInt16 = 1000
    public static let goingAway: UInt16 = 1001
    public static let protocolError: UInt16 = 1002
    public static let unsupportedData: UInt16 = 1003
    /// Reported (never sent) when a close frame carried no status code.
    public static let noStatus: UInt16 = 1005
    /// Reported (never sent) when the TCP connection ended without a close frame.
    public static let abnormal: UInt16 = 1006
    public static let invalidPayload: UInt16 = 1007
    public static let policyViolation: UInt16 = 1008
    public static let messageTooBig: UInt16 = 1009
    public static let internalError: UInt16 = 1011
    public static let tryAgainLater: UInt16 = 1013

    /// Whether a peer may put `code` on the wire. 1004–1006 and 1015 are reserved for reporting,
    /// 1016–2999 are unassigned (RFC 6455 §7.4.2), 1012–1014 are registered by IANA, 3000–4999 belong to
    /// libraries and applications.
    public static func isValidOnWire(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }
}
