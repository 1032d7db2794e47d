import Attendance
import WebSocket

/// What a client asks of the worker: subscribe, unsubscribe, check in.
extension HubWorker {
    func subscribe(_ session: ClientSession, classId: String, since: EventOffset?, id: String?) {
        if session.subscriptions[classId] != nil {
            session.sendError(id: id, .conflict("already subscribed to \(classId)"))
            return
        }
        guard subscriber.isHealthy && redis.isHealthy else {
            session.sendError(id: id, .unavailable)
            return
        }
        if session.role == .student && session.actor.classId != classId {
            session.connection.close(code: WebSocketCloseCode.policyViolation, reason: "forbidden class")
            return
        }
        guard session.subscriptions.count < configuration.maxSubscriptionsPerConnection else {
            session.sendError(id: id, .badRequest("at most \(configuration.maxSubscriptionsPerConnection) subscriptions per connection"))
            return
        }
        let subscription = registry.attach(session, classId: classId)
        let room = subscription.room
        let begin = { [weak self] in
            guard let self, session.subscriptions[classId] === subscription else { return }
            self.replayer.begin(subscription, since: since, id: id)
        }
        if room.isConfirmed { begin() } else { room.whenConfirmed.append(begin) }
    }

    func unsubscribe(_ session: ClientSession, classId: String) {
        guard let subscription = session.subscriptions[classId] else { return }
        registry.detach(subscription)
    }

    func checkin(_ session: ClientSession, classId: String, proof: CheckinProof, device: DeviceSignature?, id: String?) {
        guard session.role == .student, session.actor.classId == classId else {
            session.sendError(id: id, .forbidden("only a student of this class can check in to it"))
            return
        }
        store.checkin(classId: classId, actor: session.actor, proof: proof, device: device,
                      address: session.address) { [weak self] result in
            guard let self, session.connection.isOpen else { return }
            switch result {
            case .success(let checkin):
                self.metrics.checkins.add(1, ordering: .relaxed)
                session.reply { HubReply.ack(&$0, id: id, status: checkin.status.rawValue, atMs: checkin.atMs) }
            case .failure(let error):
                session.sendError(id: id, error)
            }
        }
    }
}
