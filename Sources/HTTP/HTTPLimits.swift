/// Size limits a parser enforces while bytes arrive, before anything is buffered beyond them.
public struct HTTPLimits: Sendable, Equatable {
    /// Request line (or status line) plus all header lines, including line ends; also bounds a chunked
    /// body's trailer section. 16 KiB holds any real browser request with cookies; more is an attack (431).
    public var maxHeadBytes: Int
    /// Number of header fields; browsers send about 20, so 100 leaves room without inviting hash floods (431).
    public var maxHeaderCount: Int
    /// Decoded body bytes. Checked against Content-Length before any byte of the body is buffered and
    /// against each chunk size as it is declared (413). The REST bodies here are small JSON objects.
    public var maxBodyBytes: Int
    /// The request-target of the request line; 8 KiB is the common proxy default (414).
    public var maxURILength: Int

    public init(maxHeadBytes: Int = 16 * 1024, maxHeaderCount: Int = 100,
                maxBodyBytes: Int = 1024 * 1024, maxURILength: Int = 8 * 1024) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxURILength = maxURILength
    }

    /// Defaults for reading responses (HTTPClient): larger bodies, since exports and reports come back
    /// through it.
    public static let client = HTTPLimits(maxHeadBytes: 64 * 1024, maxHeaderCount: 200,
                                          maxBodyBytes: 64 * 1024 * 1024, maxURILength: 8 * 1024)
}
