extension ClassStore {
    /// A student checks in to the class its token is bound to, with the current QR, a scan receipt
    /// for it, or (when the class allows it) the join code. The proof is verified here, the class state in the script, which also
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
    ///
    /// `device`: the check-in's signature, verified with the student's bound key (a signature that
    /// does not verify is `device_invalid`, counted as a failure); the script then applies the
    /// class's device policy (PROTOCOL.md "Device binding"). A receipt also needs that key to be the
    /// one it was issued to; an `offline` signature lets an expired QR or receipt through under the
    /// offline rule (`presence`).
    public func checkin(classId: String, actor: Actor, proof: CheckinProof, device: DeviceSignature? = nil,
                        address: String, completion: @escaping (Result<CheckinResult, AttendanceError>) -> Void) {
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
            let method: String, signed: String
            var extra: [String] = []
            var presence = Presence()
            switch proof {
            case .qr(let text), .receipt(let text):
                let isReceipt = if case .receipt = proof { true } else { false }
                switch self.presence(text, isReceipt: isReceipt, classId: classId, params: params, device: device) {
                case .failure(let error): return self.finish(.failure(error), address: address, completion)
                case .success(let found): presence = found
                }
                extra = presence.flags
                method = "qr"
                signed = text
            case .code(let code):
                if device?.offline == true {
                    return completion(.failure(.badRequest("offline check-ins carry a qr or a receipt, not a code")))
                }
                guard params.allowCode else {
                    return completion(.failure(.codeCheckinDisabled))
                }
                guard JoinCode.isWellFormed(code), Crypto.constantTimeEqual(code.utf8, params.code.utf8) else {
                    return self.finish(.failure(.codeInvalid), address: address, completion)
                }
                method = "code"
                signed = code
            }
            let now = self.clock()
            let offlineAt = presence.offlineAtMs.map(String.init) ?? ""
            guard let device else {
                return self.runCheckin(classId: classId, studentId: actor.id, now: now, method: method,
                                       kid: "", extra: extra, offlineAt: offlineAt, address: address, completion)
            }
            if abs(device.clientTimeMs - now) > Self.lateDeliveryMs { extra.append("late_delivery") }
            self.boundDeviceKey(classId: classId, studentId: actor.id) { bound in
                let key: DeviceKey
                switch bound {
                case .failure(let error): return completion(.failure(error))
                case .success(nil): return self.finish(.failure(.deviceInvalid), address: address, completion)
                case .success(let found?): key = found
                }
                let message = DeviceKey.message(classId: classId, studentId: actor.id, proof: signed,
                                                clientTimeMs: device.clientTimeMs)
                // A receipt is good only in the hands of the device it was issued to.
                guard key.verify(signature: device.signature, message: message),
                      presence.thumbprint == nil || presence.thumbprint == key.thumbprint
                else { return self.finish(.failure(.deviceInvalid), address: address, completion) }
                self.runCheckin(classId: classId, studentId: actor.id, now: now, method: method, kid: key.keyId,
                                extra: extra, offlineAt: offlineAt, address: address, completion)
            }
        }
    }

    /// How far a signed `client_time_ms` may be from the server's clock before `late_delivery`.
    public static let lateDeliveryMs: Int64 = 120_000

    private func runCheckin(classId: String, studentId: String, now: Int64, method: String, kid: String,
                            extra: [String], offlineAt: String, address: String,
                            _ completion: @escaping (Result<CheckinResult, AttendanceError>) -> Void) {
        let args = [classId, studentId, String(now), method, Self.auditAddress(address), kid,
                    extra.joined(separator: ","), offlineAt]
        runClassScript(Self.checkinScript, classId: classId, args: args, decode: Self.decodeStatusReply) { result in
            self.finish(result.flatMap { status, atMs, unchanged in
                guard let atMs else { return .failure(.unavailable) }
                return .success(CheckinResult(status: status, atMs: atMs, repeated: unchanged))
            }, address: address, completion)
        }
    }
}
