import EventLoop

/// Why an HTTPClient request failed.
public enum HTTPClientError: Error, Sendable, Equatable {
    /// The TCP connection could not be opened.
    case connectFailed(UVError)
    /// The connection closed before the response arrived (nil error: an orderly close by the peer or by
    /// `close()`).
    case connectionClosed(UVError?)
    /// The response did not parse; the connection is closed.
    case malformedResponse(HTTPParseError)
}
