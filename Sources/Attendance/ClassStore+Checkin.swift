extension ClassStore {
    /// A student checks in to the class its token is bound to, with the current QR or (when the class
    /// allows it) the join code. The proof is verified here, the class state in the script, which also
    /// makes a repeat return the first result without writing anything.
    ///
    /// After a teacher's decision: `absent` (marked before the student arrived) still turns into
    /// present/late, because the student did walk in; `present`/`late` set by the teacher are
    /// answered as they are (`repeated`); `excused` stands and the check-in fails with
    /// `already_checked_in`. A reset to `unmarked` allows a fresh check-in.
    public func checkin(classId: String, actor: Actor, proof: CheckinProof, address: String,
                        completion: @escaping (Result<CheckinResult, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard actor.role == .student else {
            return completion(.failure(.forbidden("Only students check in")))
        }
        guard actor.classId == classId else {
            return completion(.failure(.forbidden("This token is for another class")))
        }
        params(classId) { result in
            let params: ClassParams
            switch result {
            case .failure(let error): return completion(.failure(error))
            case .success(let found): params = found
            }
            let method: String
            switch proof {
            case .qr(let qr):
                if let error = self.verifyQR(qr, classId: classId, params: params) { return completion(.failure(error)) }
                method = "qr"
            case .code(let code):
                guard params.allowCode else {
                    return completion(.failure(.codeCheckinDisabled))
                }
                guard JoinCode.isWellFormed(code), Crypto.constantTimeEqual(code.utf8, params.code.utf8) else {
                    return completion(.failure(.codeInvalid))
                }
                method = "code"
            }
            let args = [classId, actor.id, String(self.clock()), method, Self.auditAddress(address)]
            self.runClassScript(Self.checkinScript, classId: classId, args: args, decode: Self.decodeStatusReply) { result in
                completion(result.flatMap { status, atMs, unchanged in
                    guard let atMs else { return .failure(.unavailable) }
                    return .success(CheckinResult(status: status, atMs: atMs, repeated: unchanged))
                })
            }
        }
    }
}
