/// Why a command did not produce a value. Server error replies keep their text so callers can map
/// a script's `error_reply` codes to their own errors.
public enum RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Not connected right now (reconnecting); the command was not sent.
    case disconnected
    /// The server answered with an error reply (`-ERR …`, a script's `error_reply`, or Redis refusing
    /// writes: `-OOM`, `-MISCONF`, `-READONLY`).
    case reply(String)
    /// The connection failed while the command was in flight.
    case connection(String)
    /// No reply within the command timeout. The connection was dropped (a late reply would be taken
    /// for the next command's) and is being re-established.
    case timeout
    /// The write was applied on the primary, but no replica confirmed it within the durability
    /// timeout (`durability replica`); it may or may not survive a fail-over.
    case notReplicated

    public var description: String {
        switch self {
        case .disconnected: return "redis: not connected"
        case .reply(let s): return "redis: \(s)"
        case .connection(let s): return "redis connection: \(s)"
        case .timeout: return "redis: no reply within the command timeout"
        case .notReplicated: return "redis: no replica confirmed the write in time"
        }
    }
}
