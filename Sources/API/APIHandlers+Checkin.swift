import Attendance

extension APIHandlers {
    /// `POST /v1/classes/{id}/checkins` (a student of the class): `{qr}`, `{receipt}` or `{code}`,
    /// optionally with `device_sig`, `client_time_ms` and `offline` → `{status, at_ms}`. Idempotent: a repeat answers the first check-in's result, also with 200.
    func checkin(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange) else { return }
        guard let body = body(exchange, fields: ["qr", "receipt", "code", "device_sig", "client_time_ms", "offline"]) else { return }
        let proof: CheckinProof
        let device: DeviceSignature?
        do throws(APIError) {
            let given = ["qr", "receipt", "code"].filter(body.has)
            guard given.count == 1 else { throw APIError.badRequest("Give exactly one of qr, receipt or code") }
            switch given[0] {
            case "qr": proof = .qr(try body.requiredString("qr"))
            case "receipt": proof = .receipt(try body.requiredString("receipt"))
            default: proof = .code(try body.requiredString("code"))
            }
            device = try body.deviceSignature()
            if given[0] == "receipt", device == nil {
                throw APIError.badRequest("a receipt needs device_sig and client_time_ms, signed by the key it was issued to")
            }
        } catch {
            return exchange.fail(error)
        }
        // Failures count against the client address in the store, as on the hub.
        store.checkin(classId: classId, actor: actor, proof: proof, device: device, address: exchange.clientAddress) { result in
            self.reply(exchange, result, ResponseEncoding.checkin)
        }
    }

    /// `POST /v1/receipts` (anyone, failures counted like joins): `{qr, device_key}` → a scan receipt
    /// for a QR that is valid now, bound to the device key.
    func issueReceipt(_ exchange: Exchange) {
        guard let body = body(exchange, fields: ["qr", "device_key"]) else { return }
        let qr: String
        let key: DeviceKey
        do throws(APIError) {
            qr = try body.requiredString("qr")
            guard let jwk = body.object["device_key"], !jwk.isNull else { throw APIError.badRequest("device_key is required") }
            guard let parsed = DeviceKey(jwk: jwk) else { throw APIError.badRequest(DeviceKey.invalidMessage) }
            key = parsed
        } catch {
            return exchange.fail(error)
        }
        store.issueReceipt(qr: qr, deviceKey: key, address: exchange.clientAddress) { result in
            self.reply(exchange, result, ResponseEncoding.receipt)
        }
    }
}
