import RedisClient

extension ClassStore {
    /// Longest accepted display name.
    public static let maxNameCharacters = 100

    /// A student joins a class by code, link or QR (the QR also checks in) and receives a student
    /// token bound to the class.
    ///
    /// Re-joining with a `student_id` that already joined answers a fresh token for that student (a
    /// phone that reloaded has lost its token) but never renames: the first name stays. Each re-join
    /// is counted in the student's `rejoins`, which the teacher's attendance list shows.
    ///
    /// `deviceKey` registers the student's device (bound on first use; the class's device policy
    /// decides about another key later). A QR join may carry `deviceSignature`, made with that key.
    ///
    /// Failures count against `address` (`StoreLimits.failuresPerAddress`); successes are not limited.
    /// A student id not on the roster answers `code_invalid`, exactly like a wrong code, whatever the
    /// credential, so that guessing cannot tell which ids exist.
    ///
    /// A personal link names its student: `studentId` may then be nil, and one that differs is refused.
    /// A class created with `join_requires: link` admits new students only by personal link or
    /// `signedIn`: the `studentId` is a school account's, whose sign-in identifies the student at
    /// least as well as a personal link does.
    public func join(_ credential: JoinCredential, studentId givenId: String?, name: String?, deviceKey: DeviceKey? = nil,
                     deviceSignature: DeviceSignature? = nil, signedIn: Bool = false, address: String,
                     completion: @escaping (Result<JoinResult, AttendanceError>) -> Void) {
        if let givenId, !Identifier.isValid(givenId) {
            return completion(.failure(.badRequest("student_id must be 1–64 characters of A-Z a-z 0-9 _ . : -")))
        }
        let name = name ?? ""
        guard Self.isCleanText(name, maxCharacters: Self.maxNameCharacters) else {
            return completion(.failure(.badRequest(Self.cleanTextRule("name", maxCharacters: Self.maxNameCharacters))))
        }
        gated(address: address, { self.resolve(credential, completion: $0) }) { outcome in
            let resolved: Resolved
            switch outcome {
            case .failure(let limited): return completion(.failure(limited))
            case .success(.failure(let error)):
                return self.finish(Result<JoinResult, AttendanceError>.failure(error), address: address,
                                   countIf: self.isExpiredLink(credential, error) ? true : nil, completion)
            case .success(.success(let found)): resolved = found
            }
            let (classId, params, checkin) = (resolved.classId, resolved.params, resolved.checkin)
            var presence = Presence()
            switch credential {
            case .qr(let text), .receipt(let text):
                let isReceipt = if case .receipt = credential { true } else { false }
                switch self.presence(text, isReceipt: isReceipt, classId: classId, params: params, device: deviceSignature) {
                case .failure(let error): return self.finish(.failure(error), address: address, completion)
                case .success(let found): presence = found
                }
            case .code, .linkToken: break
            }
            let studentId: String
            switch (givenId, resolved.personal) {
            case (let given?, let named?) where given != named:
                return completion(.failure(.badRequest("student_id differs from the student of the personal join link")))
            case (_, let named?): studentId = named
            case (let given?, nil): studentId = given
            case (nil, nil): return completion(.failure(.badRequest("student_id is required")))
            }
            let identified = resolved.personal != nil || signedIn
            if params.requiresLink, !identified, !checkin {
                return completion(.failure(.personalLinkRequired))
            }
            // A QR join checks in, so it obeys the network rule (and, as a check-in, is not counted).
            if checkin, !self.networkAllows(address, params: params) {
                return completion(.failure(.networkNotAllowed))
            }
            let now = self.clock()
            var device = (extra: "", signed: false)
            switch credential {
            case .qr(let proof), .receipt(let proof):
                guard let checked = self.qrJoinDevice(classId: classId, studentId: studentId, proof: proof, presence: presence,
                                                      key: deviceKey, signature: deviceSignature, now: now)
                else { return self.finish(.failure(.deviceInvalid), address: address, completion) }
                device = checked
            case .code, .linkToken: break
            }
            let args = [classId, studentId, name, String(now), Self.auditAddress(address), checkin ? "qr" : "",
                        String(self.limits.classSizeLimit), deviceKey?.encoded ?? "", deviceKey?.keyId ?? "",
                        device.extra, device.signed ? "1" : "0", params.requiresLink && !identified ? "1" : "",
                        presence.offlineAtMs.map(String.init) ?? ""]
            self.runClassScript(Self.joinScript, classId: classId, args: args, decode: { value in
                // {'pending', 0, 0|1}: queued for approval (an `approve` class), else a status reply.
                value.array?.first?.text == "pending" ? .some(nil) : Self.decodeStatusReply(value).map { .some($0) }
            }) { (result: Result<(AttendanceStatus, Int64?, Bool)?, AttendanceError>) in
                // No roster oracle: an id not on the roster answers like a wrong code (and counts).
                let joined: Result<(AttendanceStatus, Int64?, Bool), AttendanceError>
                switch result {
                case .success(let reply?): joined = .success(reply)
                case .success(nil):
                    var pending = JoinResult(classId: classId, studentId: studentId, accessToken: "", status: .unmarked, atMs: nil)
                    pending.pendingApproval = true
                    pending.className = params.name
                    return completion(.success(pending))
                case .failure(let error): joined = .failure(error == .notOnRoster ? .codeInvalid : error)
                }
                self.finish(joined.map { status, atMs, _ in
                    let claims = AccessClaims(sub: studentId, role: .student, iat: now / 1000,
                                              exp: max(params.closesAtMs, now) / 1000 + self.studentTokenGraceS,
                                              cls: classId)
                    var joined = JoinResult(classId: classId, studentId: studentId, accessToken: self.signer.sign(claims),
                                            status: status, atMs: atMs)
                    joined.className = params.name
                    return joined
                }, address: address, completion)
            }
        }
    }

    /// What a credential resolved to: the class, its facts, whether joining also checks in, and the
    /// student a personal link names.
    struct Resolved {
        let classId: String
        let params: ClassParams
        let checkin: Bool
        var personal: String?
    }

    /// An expired link answers `class_closed` (its class has ended) but still counts as a failure.
    private func isExpiredLink(_ credential: JoinCredential, _ error: AttendanceError) -> Bool {
        guard error == .classClosed, case .linkToken(let token) = credential else { return false }
        let nowS = clock() / 1000
        if case .failure(.expired) = JoinLink.verify(token, key: qrKey, nowS: nowS) { return true }
        if case .failure(.expired) = JoinLink.verifyPersonal(token, key: qrKey, nowS: nowS) { return true }
        return false
    }

    /// The class a credential names, its facts, and whether joining also checks in. Reads only.
    private func resolve(_ credential: JoinCredential, completion: @escaping (Result<Resolved, AttendanceError>) -> Void) {
        switch credential {
        case .code(let code):
            guard JoinCode.isWellFormed(code) else { return completion(.failure(.codeInvalid)) }
            redis.send(["GET", Keys.code(code)]) { result in
                switch result {
                case .failure(let error):
                    completion(.failure(AttendanceError(redis: error)))
                case .success(let value):
                    guard let classId = value.text, Identifier.isValid(classId) else {
                        return completion(.failure(.codeInvalid))
                    }
                    self.params(classId) { completion($0.map { Resolved(classId: classId, params: $0, checkin: false) }) }
                }
            }
        case .linkToken(let token):
            let nowS = clock() / 1000
            var opened = JoinLink.verify(token, key: qrKey, nowS: nowS).map { (classId: $0, studentId: String?.none) }
            if case .failure(.invalid) = opened {
                opened = JoinLink.verifyPersonal(token, key: qrKey, nowS: nowS).map { ($0.classId, .some($0.studentId)) }
            }
            switch opened {
            case .failure(.invalid):
                completion(.failure(.badRequest(JoinLink.invalidMessage)))
            case .failure(.expired):
                // A link expires when its class ends.
                completion(.failure(.classClosed))
            case .success(let named):
                params(named.classId) {
                    completion($0.map { Resolved(classId: named.classId, params: $0, checkin: false, personal: named.studentId) })
                }
            }
        case .qr(let text), .receipt(let text):
            // The class it names; the proof itself is checked by `presence` after this read.
            let named = if case .qr = credential { QRToken.parse(text)?.classId } else { ScanReceipt.open(text, signer: signer)?.classId }
            guard let classId = named else { return completion(.failure(.qrInvalid)) }
            params(classId) { result in
                switch result {
                case .failure(.notFound):
                    // A QR naming a class that does not exist cannot carry a valid MAC.
                    completion(.failure(.qrInvalid))
                case .failure(let error):
                    completion(.failure(error))
                case .success(let params):
                    completion(.success(Resolved(classId: classId, params: params, checkin: true)))
                }
            }
        }
    }

    func verifyQR(_ qr: String, classId: String, params: ClassParams) -> AttendanceError? {
        switch QRToken.verify(qr, classId: classId, periodS: params.qrPeriodS, nowMs: clock(), key: qrKey) {
        case .ok: nil
        case .expired: .qrExpired
        case .invalid: .qrInvalid
        }
    }

    /// `{status, at_ms, unchanged}` from the join and check-in scripts.
    static func decodeStatusReply(_ value: RedisValue) -> (AttendanceStatus, Int64?, Bool)? {
        guard let fields = value.array, fields.count == 3, let text = fields[0].text,
              let status = AttendanceStatus(rawValue: text), let at = fields[1].int, let unchanged = fields[2].int
        else { return nil }
        return (status, at == 0 ? nil : at, unchanged == 1)
    }
}
