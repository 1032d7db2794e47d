import Attendance

extension APIHandlers {
    /// `POST /v1/classes/{id}/checkins` (a student of the class): `{qr}` or `{code}`, optionally
    /// with `device_sig` and `client_time_ms` → `{status, at_ms}`. Idempotent: a repeat answers the first check-in's result, also with 200.
    func checkin(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange) else { return }
        guard let body = body(exchange, fields: ["qr", "code", "device_sig", "client_time_ms"]) else { return }
        let proof: CheckinProof
        let device: DeviceSignature?
        do throws(APIError) {
            switch (body.has("qr"), body.has("code")) {
            case (true, false): proof = .qr(try body.requiredString("qr"))
            case (false, true): proof = .code(try body.requiredString("code"))
            default: throw APIError.badRequest("Give exactly one of qr or code")
            }
            device = try body.deviceSignature()
        } catch {
            return exchange.fail(error)
        }
        // Failures count against the client address in the store, as on the hub.
        store.checkin(classId: classId, actor: actor, proof: proof, device: device, address: exchange.clientAddress) { result in
            self.reply(exchange, result, ResponseEncoding.checkin)
        }
    }
}
