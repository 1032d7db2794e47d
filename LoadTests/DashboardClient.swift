import JSON
import WebSocket

/// What every simulated dashboard shares: subscribe to one class, report the `subscribed` reply
/// once, count `error` messages and unexpected closes; subclasses handle the events.
class DashboardClient: WebSocketClientDelegate {
    private(set) var client: WebSocketClient?
    private(set) var subscribed = false
    /// Names this kind of client in error messages ("dashboard", "subscriber").
    var label: String { "dashboard" }
    unowned let run: LoadRun
    var isShuttingDown: Bool { false }

    init(run: LoadRun) {
        self.run = run
    }

    /// Takes over the connection and subscribes to `classId` (from `since` when resuming).
    func subscribe(_ client: WebSocketClient, classId: String, id: String? = nil, since: String? = nil) {
        self.client = client
        client.delegate = self
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("type", "subscribe")
        w.field("class_id", classId)
        w.field("id", ifPresent: id)
        w.field("since", ifPresent: since)
        w.endObject()
        client.sendText(w.bytes)
    }

    /// An `event` message (compact JSON).
    func eventReceived(_ bytes: UnsafeRawBufferPointer) {}
    /// The first `subscribed` reply.
    func ready() {}
    /// An error or a close before the subscription was confirmed.
    func failed() {}
    /// A `subscribed` reply after the first (a resumed subscription).
    func resubscribed(_ bytes: UnsafeRawBufferPointer) {}
    /// An `error` message; return true when the subclass handled it (e.g. retries a refused resume).
    func errorReceived(code: String) -> Bool { false }
    /// A close the run did not ask for; return true when the subclass handled it (reconnects).
    func closedUnexpectedly(code: UInt16) -> Bool { false }

    func didReceiveText(_ client: WebSocketClient, _ bytes: UnsafeRawBufferPointer) {
        MessageScanner.withCompact(bytes) { handle($0) }
    }

    private func handle(_ bytes: UnsafeRawBufferPointer) {
        let type = MessageScanner.string("type", in: bytes)
        if MessageScanner.equals(type, "event") {
            eventReceived(bytes)
        } else if MessageScanner.equals(type, "subscribed") {
            guard !subscribed else { return resubscribed(bytes) }
            subscribed = true
            ready()
        } else if MessageScanner.equals(type, "error") {
            let code = (try? JSON.parse(bytes))?["code"]?.string ?? "?"
            if errorReceived(code: code) { return }
            run.errors.add("\(label) error: \(code)")
            if !subscribed { failed() }
        }
    }

    func didClose(_ client: WebSocketClient, code: UInt16, reason: String) {
        guard !isShuttingDown, !closedUnexpectedly(code: code) else { return }
        run.errors.add("\(label) closed: \(code) \(reason.prefix(40))")
        if !subscribed { failed() }
    }
}

@available(*, unavailable)
extension DashboardClient: Sendable {}
