import Attendance
import EventLoop
import JSON
import WebSocket

/// One authenticated WebSocket client: its identity, its subscriptions, and its messages.
final class ClientSession: WebSocketConnectionDelegate {
    let connection: WebSocketConnection
    unowned(unsafe) let worker: HubWorker
    let actor: Actor
    let address: String
    let tokenExpiresS: Int64
    var subscriptions: [String: Subscription] = [:]
    var lastPingMs: UInt64 = 0

    var role: Role { actor.role }
    var userId: String { actor.id }

    init(connection: WebSocketConnection, worker: HubWorker, actor: Actor, address: String, tokenExpiresS: Int64) {
        self.connection = connection
        self.worker = worker
        self.actor = actor
        self.address = address
        self.tokenExpiresS = tokenExpiresS
    }

    func send(frame: ByteBuffer) {
        worker.metrics.messagesOut.add(1, ordering: .relaxed)
        connection.send(frame: frame)
    }

    /// Builds a reply in the worker's reusable writer and sends it.
    func reply(_ build: (inout JSONWriter) -> Void) {
        worker.metrics.messagesOut.add(1, ordering: .relaxed)
        worker.writer.reset()
        build(&worker.writer)
        worker.writer.bytes.withUnsafeBytes { connection.sendText($0) }
    }

    func sendError(id: JSONValue?, _ error: AttendanceError) {
        reply { HubReply.error(&$0, id: id, code: error.code, message: error.message) }
    }

    // MARK: WebSocketConnectionDelegate

    func didReceiveText(_ connection: WebSocketConnection, _ text: UnsafeRawBufferPointer) {
        worker.metrics.messagesIn.add(1, ordering: .relaxed)
        let message: JSONValue
        do {
            message = try JSON.parse(text)
        } catch {
            sendError(id: nil, .invalidJSON)
            return
        }
        let id = message["id"]
        guard case .object = message, let type = message["type"]?.string else {
            sendError(id: id, .badRequest("a message is a JSON object with a string \"type\""))
            return
        }
        if let id, id.string == nil, id.int == nil {
            sendError(id: nil, .badRequest("\"id\" must be a string or a number"))
            return
        }
        switch type {
        case "ping":
            reply { HubReply.pong(&$0, id: id) }
        case "subscribe":
            guard let classId = classId(in: message, id: id) else { return }
            var since: EventOffset?
            if let sinceValue = message["since"], !sinceValue.isNull {
                guard let text = sinceValue.string, let parsed = EventOffset(text) else {
                    sendError(id: id, .badRequest("\"since\" must be an offset like \"1732540001234-0\""))
                    return
                }
                since = parsed
            }
            worker.subscribe(self, classId: classId, since: since, id: id)
        case "unsubscribe":
            guard let classId = classId(in: message, id: id) else { return }
            worker.unsubscribe(self, classId: classId)
        case "checkin":
            guard let classId = classId(in: message, id: id) else { return }
            let qr = message["qr"]?.string
            let code = message["code"]?.string
            guard (qr == nil) != (code == nil) else {
                sendError(id: id, .badRequest("a check-in carries exactly one of \"qr\" or \"code\""))
                return
            }
            worker.checkin(self, classId: classId, qr: qr, code: code, id: id)
        default:
            sendError(id: id, .badRequest("unknown message type \"\(type.prefix(32))\""))
        }
    }

    private func classId(in message: JSONValue, id: JSONValue?) -> String? {
        guard let classId = message["class_id"]?.string, Identifier.isValid(classId) else {
            sendError(id: id, .badRequest("\"class_id\" must be 1-64 characters of [A-Za-z0-9_.:-]"))
            return nil
        }
        return classId
    }

    func didClose(_ connection: WebSocketConnection, code: UInt16, reason: String) {
        if code == WebSocketCloseCode.tryAgainLater { worker.metrics.slowConsumerCloses.add(1, ordering: .relaxed) }
        worker.sessionClosed(self)
    }
}

@available(*, unavailable)
extension ClientSession: Sendable {}
