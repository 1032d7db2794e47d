import Attendance

extension APIHandlers {
    /// `POST /v1/join` (anyone): `{code | link_token | qr | receipt, student_id, name?, device_key?}` → a student
    /// token (`student_id` may be left out with a personal link, which names the student); a QR join may also carry `device_sig` and `client_time_ms`, signed with `device_key`.
    /// Failures (wrong codes, bad links and QRs, students not on the roster) count against the client
    /// address in the store; an address over its failure limit is refused 429 whatever it sends.
    /// With a school-account student token (`Authorization: Bearer`, from `/v1/auth/refresh` after a
    /// school sign-in) the student is the signed-in one: `student_id` may be left out, and a different
    /// one is refused; in a class with `join_requires: link` such a student counts as identified, like
    /// one with a personal link.
    func join(_ exchange: Exchange) {
        var signedIn: String?
        if !exchange.request.headerValues("Authorization").isEmpty {
            guard let actor = authenticate(exchange) else { return }
            guard actor.role == .student, actor.classId == nil else {
                return exchange.fail(.forbidden("A join's Authorization must be a student's school-account token"))
            }
            signedIn = actor.id
        }
        guard let body = body(exchange, fields: ["code", "link_token", "qr", "receipt", "student_id", "name", "device_key",
                                              "device_sig", "client_time_ms", "offline"]) else { return }
        let credential: JoinCredential
        let studentId: String?
        let name: String?
        var deviceKey: DeviceKey?
        let signature: DeviceSignature?
        do throws(APIError) {
            let given = ["code", "link_token", "qr", "receipt"].filter(body.has)
            guard given.count == 1 else {
                throw APIError.badRequest("Give exactly one of code, link_token, qr or receipt")
            }
            switch given[0] {
            case "code": credential = .code(try body.requiredString("code"))
            case "link_token": credential = .linkToken(try body.requiredString("link_token"))
            case "qr": credential = .qr(try body.requiredString("qr"))
            default: credential = .receipt(try body.requiredString("receipt"))
            }
            if let signedIn {
                if body.has("student_id"), try body.requiredIdentifier("student_id") != signedIn {
                    throw APIError.badRequest("student_id must be the signed-in school account's id (\(signedIn)) or left out")
                }
                studentId = signedIn
            } else {
                studentId = given[0] == "link_token" && !body.has("student_id")
                    ? nil : try body.requiredIdentifier("student_id")
            }
            name = try body.string("name")
            if let jwk = body.object["device_key"], !jwk.isNull {
                guard let key = DeviceKey(jwk: jwk) else { throw APIError.badRequest(DeviceKey.invalidMessage) }
                deviceKey = key
            }
            signature = try body.deviceSignature()
            let checksIn = given[0] == "qr" || given[0] == "receipt"
            if signature != nil, !(checksIn && deviceKey != nil) {
                throw APIError.badRequest("device_sig on a join needs qr (or receipt) and device_key")
            }
            if given[0] == "receipt", signature == nil {
                throw APIError.badRequest("a receipt needs device_key, device_sig and client_time_ms, signed by the key it was issued to")
            }
        } catch {
            return exchange.fail(error)
        }
        store.join(credential, studentId: studentId, name: name, deviceKey: deviceKey,
                   deviceSignature: signature, signedIn: signedIn != nil, address: exchange.clientAddress) { result in
            if case .success(let joined) = result, joined.pendingApproval {
                return exchange.json(202, ResponseEncoding.pendingJoin(joined))
            }
            self.reply(exchange, result, ResponseEncoding.joined)
        }
    }
}
