import Attendance
import EventLoop
import JSON
import WebSocket

/// One authenticated WebSocket client: its identity, its subscriptions, and its messages.
///
/// Every idle client holds one, so it keeps only what differs per client: the worker, its metrics
/// and the budget limits are one shared `SessionContext`. `IdleSessionSizeTests` holds the
/// size down.
final class ClientSession: WebSocketConnectionDelegate {
    let connection: WebSocketConnection
    let context: SessionContext
    // `actor` ends in its one-byte role, so the 32-bit expiry fits in what would be its padding.
    let actor: Actor
    /// The access token's `exp` (Unix seconds), clamped to 32 bits: a token expiring after 2106
    /// expires in 2106, and one already expired stays expired.
    let tokenExpiresS: UInt32
    let address: String
    var subscriptions: [String: Subscription] = [:]
    var budget: ClientBudget
    /// Where this session is in the worker's `sessions` (kept by the worker).
    var sessionIndex: UInt32 = 0

    var role: Role { actor.role }
    var userId: String { actor.id }
    var worker: HubWorker { context.worker }

    init(connection: WebSocketConnection, context: SessionContext, actor: Actor, address: String, tokenExpiresS: Int64) {
        self.connection = connection
        self.context = context
        self.actor = actor
        self.address = address
        self.tokenExpiresS = UInt32(clamping: tokenExpiresS)
        budget = ClientBudget(limits: context.budgetLimits, nowMs: connection.lastReceivedMs)
    }

    /// Sends pre-framed bytes holding `messages` WebSocket messages.
    func send(frame: ByteBuffer, messages: Int = 1) {
        context.countMessagesOut(messages)
        connection.send(frame: frame)
    }

    /// Builds a reply in the worker's reusable writer and sends it.
    func reply(_ build: (inout JSONWriter) -> Void) {
        context.countMessagesOut(1)
        // Moved out and back rather than used in place: a local writer needs no retain of its
        // storage per access, and nothing else touches the worker's writer meanwhile.
        var writer = JSONWriter(capacity: 0)
        swap(&writer, &worker.writer)
        writer.reset()
        build(&writer)
        writer.bytes.withUnsafeBytes { connection.sendText($0) }
        swap(&writer, &worker.writer)
    }

    /// `{"type":"pong","id":<id>}` written straight into a stack buffer: the most frequent reply
    /// (keep-alives) skips the JSON writer. `idToken` is the id as the client wrote it, or empty.
    private func sendPong(idToken: UnsafeRawBufferPointer) {
        context.countMessagesOut(1)
        let head: StaticString = #"{"type":"pong""#
        let idKey: StaticString = #","id":"#
        let count = head.utf8CodeUnitCount + (idToken.isEmpty ? 0 : idKey.utf8CodeUnitCount + idToken.count) + 1
        withUnsafeTemporaryAllocation(byteCount: count, alignment: 1) { out in
            var at = 0
            func put(_ p: UnsafeRawPointer, _ n: Int) { (out.baseAddress! + at).copyMemory(from: p, byteCount: n); at += n }
            put(head.utf8Start, head.utf8CodeUnitCount)
            if !idToken.isEmpty {
                put(idKey.utf8Start, idKey.utf8CodeUnitCount)
                put(idToken.baseAddress!, idToken.count)
            }
            out[at] = UInt8(ascii: "}")
            connection.sendText(UnsafeRawBufferPointer(out))
        }
    }

    private func sendPong(id: String?) {
        var id = id ?? ""
        id.withUTF8 { sendPong(idToken: UnsafeRawBufferPointer($0)) }
    }

    func sendError(id: String?, _ error: AttendanceError) {
        reply { HubReply.error(&$0, id: id, code: error.code, message: error.message) }
    }

    // MARK: WebSocketConnectionDelegate

    func didReceiveText(_ connection: WebSocketConnection, _ text: UnsafeRawBufferPointer) {
        context.countMessageIn()
        guard admit(budget.chargeBytes(text.count, limits: context.budgetLimits, nowMs: connection.lastReceivedMs), id: nil) else { return }
        // A ping costs no tokens (ClientBudgetLimits.cost), so the budget has nothing more to charge.
        if let idToken = ClientMessage.plainPing(text) {
            sendPong(idToken: idToken)
            return
        }
        var message = ClientMessage()
        if let (error, id) = ClientMessage.parse(text, into: &message) {
            guard admit(budget.charge(nil, limits: context.budgetLimits, nowMs: connection.lastReceivedMs), id: id) else { return }
            sendError(id: id, error)
            return
        }
        guard admit(budget.charge(message.type, limits: context.budgetLimits, nowMs: connection.lastReceivedMs), id: message.id) else { return }
        handle(message)
    }

    /// Over budget: `rate_limited` and nothing else (no Redis call); refused too often: 1008.
    private func admit(_ verdict: ClientBudget.Verdict, id: String?) -> Bool {
        switch verdict {
        case .allowed:
            return true
        case .refused:
            context.metrics.rateLimited.add(1, ordering: .relaxed)
            reply { HubReply.error(&$0, id: id, code: "rate_limited", message: "too many messages; slow down and retry later") }
        case .abusive:
            context.metrics.rateLimitCloses.add(1, ordering: .relaxed)
            connection.close(code: WebSocketCloseCode.policyViolation, reason: "rate limit exceeded")
        }
        return false
    }

    private func handle(_ message: ClientMessage) {
        let id = message.id
        switch message.type {
        case .ping:
            sendPong(id: id)
        case .subscribe:
            guard let classId = validClassId(message) else { return }
            var since: EventOffset?
            if let text = message.since {
                guard let parsed = EventOffset(text) else {
                    sendError(id: id, .badRequest("\"since\" must be an offset like \"1732540001234-0\""))
                    return
                }
                since = parsed
            }
            worker.subscribe(self, classId: classId, since: since, id: id)
        case .unsubscribe:
            guard let classId = validClassId(message) else { return }
            worker.unsubscribe(self, classId: classId)
        case .checkin:
            guard let classId = validClassId(message) else { return }
            let proof: CheckinProof
            switch (message.qr, message.receipt, message.code) {
            case (let qr?, nil, nil): proof = .qr(qr)
            case (nil, let receipt?, nil): proof = .receipt(receipt)
            case (nil, nil, let code?): proof = .code(code)
            default:
                sendError(id: id, .badRequest("a check-in carries exactly one of \"qr\", \"receipt\" or \"code\""))
                return
            }
            var device: DeviceSignature?
            switch (message.deviceSig, message.clientTimeMs) {
            case (nil, nil):
                if message.offline {
                    sendError(id: id, .badRequest("\"offline\" needs \"device_sig\" and \"client_time_ms\""))
                    return
                }
                if case .receipt = proof {
                    sendError(id: id, .badRequest("a receipt needs \"device_sig\" and \"client_time_ms\" by the key it was issued to"))
                    return
                }
            case (let text?, let time?):
                guard let signature = DeviceKey.decodeSignature(text) else {
                    sendError(id: id, .badRequest("\"device_sig\" must be the 64-byte r‖s signature in base64url"))
                    return
                }
                guard let ms = Int64(time), ms >= 0 else {
                    sendError(id: id, .badRequest("\"client_time_ms\" must be a non-negative integer"))
                    return
                }
                device = DeviceSignature(signature: signature, clientTimeMs: ms, offline: message.offline)
            default:
                sendError(id: id, .badRequest("\"device_sig\" and \"client_time_ms\" go together"))
                return
            }
            worker.checkin(self, classId: classId, proof: proof, device: device, id: id)
        case .other(let name):
            sendError(id: id, .badRequest("unknown message type \"\(name.prefix(32))\""))
        }
    }

    private func validClassId(_ message: ClientMessage) -> String? {
        guard let classId = message.classId, Identifier.isValid(classId) else {
            sendError(id: message.id, .badRequest("\"class_id\" must be 1-64 characters of [A-Za-z0-9_.:-]"))
            return nil
        }
        return classId
    }

    func didDrain(_ connection: WebSocketConnection) {
        worker.replayer.resumePausedReplays(self)
    }

    func didClose(_ connection: WebSocketConnection, code: UInt16, reason: String) {
        if code == WebSocketCloseCode.tryAgainLater { context.metrics.slowConsumerCloses.add(1, ordering: .relaxed) }
        worker.sessionClosed(self)
    }
}

@available(*, unavailable)
extension ClientSession: Sendable {}
