import Attendance

extension APIHandlers {
    /// `POST /v1/join` (anyone): `{code | link_token | qr, student_id, name?}` → a student token.
    /// Failures (wrong codes, bad links and QRs, students not on the roster) count against the client
    /// address in the store; an address over its failure limit is refused 429 whatever it sends.
    func join(_ exchange: Exchange) {
        guard let body = body(exchange, fields: ["code", "link_token", "qr", "student_id", "name"]) else { return }
        let credential: JoinCredential
        let studentId: String
        let name: String?
        do throws(APIError) {
            let given = ["code", "link_token", "qr"].filter(body.has)
            guard given.count == 1 else {
                throw APIError.badRequest("Give exactly one of code, link_token or qr")
            }
            switch given[0] {
            case "code": credential = .code(try body.requiredString("code"))
            case "link_token": credential = .linkToken(try body.requiredString("link_token"))
            default: credential = .qr(try body.requiredString("qr"))
            }
            studentId = try body.requiredIdentifier("student_id")
            name = try body.string("name")
        } catch {
            return exchange.fail(error)
        }
        store.join(credential, studentId: studentId, name: name, address: exchange.clientAddress) { result in
            self.reply(exchange, result, ResponseEncoding.joined)
        }
    }
}
