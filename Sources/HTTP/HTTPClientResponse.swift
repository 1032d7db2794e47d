/// A response as HTTPClient received it.
public struct HTTPClientResponse: Sendable {
    public var version: HTTPVersion
    public var status: Int
    public var reason: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(version: HTTPVersion = .http1_1, status: Int, reason: String = "", headers: HTTPHeaders = [], body: [UInt8] = []) {
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
    }

    /// The body decoded as UTF-8 (invalid sequences replaced).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}
