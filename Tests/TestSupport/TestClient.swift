import EventLoop
import JSON
import WebSocket

/// A WebSocket client for tests: connects to a hub, records every message (parsed) and how it closed.
public final class TestClient: WebSocketClientDelegate {
    public private(set) var client: WebSocketClient?
    public private(set) var messages: [JSONValue] = []
    public private(set) var raw: [[UInt8]] = []
    public private(set) var closeCode: UInt16?
    public private(set) var closeReason = ""
    public private(set) var connectError: WebSocketClientError?

    public init() {}

    public static func connect(loop: EventLoop, port: Int, token: String?, headers: [(String, String)] = []) -> TestClient {
        let test = TestClient()
        let path = token.map { "/ws?access_token=\($0)" } ?? "/ws"
        WebSocketClient.connect(loop: loop, address: try! SocketAddress(host: "127.0.0.1", port: port), host: "127.0.0.1:\(port)", path: path,
                                extraHeaders: headers) { result in
            switch result {
            case .success(let client):
                client.delegate = test
                test.client = client
            case .failure(let error):
                test.connectError = error
                test.closeCode = 0
            }
        }
        return test
    }

    public var isConnected: Bool { client != nil }

    public func send(_ object: [String: String]) {
        var w = JSONWriter()
        w.beginObject()
        for (k, v) in object.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.endObject()
        client?.sendText(w.bytes)
    }

    /// Sends a message text as it is (for fields that are not strings).
    public func sendRaw(_ text: String) {
        client?.sendText(Array(text.utf8))
    }

    /// Messages of one `type` (and, for events, one `event`).
    public func messages(type: String, event: String? = nil) -> [JSONValue] {
        messages.filter { $0["type"]?.string == type && (event == nil || $0["event"]?.string == event) }
    }

    public func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {
        raw.append(Array(bytes))
        messages.append((try? JSON.parse(bytes)) ?? .null)
    }

    public func didClose(_ client: WebSocketClient, code: UInt16, reason: String) {
        closeCode = code
        closeReason = reason
    }
}
