extension ClassStore {
    /// A student checks in to the class its token is bound to, with the current QR or (when the class
    /// allows it) the join code. The proof is verified here, the class state in the script, which also
    /// makes a repeat return the first result without writing anything.
    ///
    /// After a teacher's decision: `absent` (marked before the student arrived) still turns into
    /// present/late, because the student did walk in; `present`/`late` set by the teacher are
    /// answered as they are (`repeated`); `excused` stands and the check-in fails with
    /// `already_checked_in`. A reset to `unmarked` allows a fresh check-in.
    ///
    /// Failures (bad or expired QR, wrong code, not on the roster) count against `address`, and an
    /// address over its failure limit is refused `rate_limited` (`StoreLimits.failuresPerAddress`).
    /// An address outside the class's networks is refused `network_not_allowed`, not counted.
    public func checkin(classId: String, actor: Actor, proof: CheckinProof, address: String,
                        completion: @escaping (Result<CheckinResult, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard actor.role == .student else {
            return completion(.failure(.forbidden("Only students check in")))
        }
        guard actor.classId == classId else {
            return completion(.failure(.forbidden("This token is for another class")))
        }
        gated(address: address, { self.params(classId, completion: $0) }) { outcome in
            let params: ClassParams
            switch outcome {
            case .failure(let limited): return completion(.failure(limited))
            case .success(.failure(let error)): return completion(.failure(error))
            case .success(.success(let found)): params = found
            }
            // Not counted as a failure: a student on mobile data is not guessing.
            guard self.networkAllows(address, params: params) else { return completion(.failure(.networkNotAllowed)) }
            let method: String
            switch proof {
            case .qr(let qr):
                if let error = self.verifyQR(qr, classId: classId, params: params) {
                    return self.finish(.failure(error), address: address, completion)
                }
                method = "qr"
            case .code(let code):
                guard params.allowCode else {
                    return completion(.failure(.codeCheckinDisabled))
                }
                guard JoinCode.isWellFormed(code), Crypto.constantTimeEqual(code.utf8, params.code.utf8) else {
                    return self.finish(.failure(.codeInvalid), address: address, completion)
                }
                method = "code"
            }
            let args = [classId, actor.id, String(self.clock()), method, Self.auditAddress(address)]
            self.runClassScript(Self.checkinScript, classId: classId, args: args, decode: Self.decodeStatusReply) { result in
                self.finish(result.flatMap { status, atMs, unchanged in
                    guard let atMs else { return .failure(.unavailable) }
                    return .success(CheckinResult(status: status, atMs: atMs, repeated: unchanged))
                }, address: address, completion)
            }
        }
    }
}
