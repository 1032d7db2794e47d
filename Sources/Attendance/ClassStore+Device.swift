import JSON

extension ClassStore {
    /// The teacher forgets a student's bound device key (`POST …/students/{sid}/device:reset`).
    /// Answers the key id that was bound, nil when none was.
    public func resetDevice(classId: String, studentId: String, actor: Actor, address: String,
                            completion: @escaping (Result<String?, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let owner = ownerArgument(actor) else { return completion(.failure(.notTeacherOfClass)) }
        guard Identifier.isValid(studentId) else { return completion(.failure(.badRequest("student_id is not valid"))) }
        let args = [classId, studentId, String(clock()), actor.id, owner, Self.auditAddress(address)]
        runClassScript(Self.deviceResetScript, classId: classId, args: args, decode: { value -> String?? in
            guard let kid = value.text else { return nil }
            return .some(kid.isEmpty ? nil : kid)
        }, completion: completion)
    }

    /// Whether a QR that verified is from the window before the current one.
    func isPreviousWindow(_ qr: String, params: ClassParams) -> Bool {
        guard let parsed = QRToken.parse(qr) else { return false }
        let current = QRToken.floorDiv(clock(), Int64(params.qrPeriodS) * 1000)
        return parsed.window < current
    }

    /// The device key bound to a student (nil when none).
    func boundDeviceKey(classId: String, studentId: String,
                        completion: @escaping (Result<DeviceKey?, AttendanceError>) -> Void) {
        redis.send(["HGET", Keys.students(classId), studentId]) { result in
            switch result {
            case .failure(let error):
                completion(.failure(AttendanceError(redis: error)))
            case .success(let value):
                guard let raw = value.text, let record = try? JSON.parse(Array(raw.utf8)),
                      let encoded = record["dkey"]?.string
                else { return completion(.success(nil)) }
                completion(.success(DeviceKey(encoded: encoded)))
            }
        }
    }

    /// The flags of a join's QR (or receipt) check-in (a comma list) and whether its `device_sig`
    /// verified with the `device_key` the join carries; nil when a signature is given and does not
    /// verify, or the key is not the one a receipt was issued to.
    func qrJoinDevice(classId: String, studentId: String, proof: String, presence: Presence, key: DeviceKey?,
                      signature: DeviceSignature?, now: Int64) -> (extra: String, signed: Bool)? {
        var extra = presence.flags
        guard let signature else { return (extra.joined(separator: ","), false) }
        let message = DeviceKey.message(classId: classId, studentId: studentId, proof: proof,
                                        clientTimeMs: signature.clientTimeMs)
        guard let key, key.verify(signature: signature.signature, message: message),
              presence.thumbprint == nil || presence.thumbprint == key.thumbprint
        else { return nil }
        if abs(signature.clientTimeMs - now) > Self.lateDeliveryMs { extra.append("late_delivery") }
        return (extra.joined(separator: ","), true)
    }
}
