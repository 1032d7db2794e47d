import RedisClient

extension ClassStore {
    /// Creates a class session owned by `actor` (a teacher, or an admin who then owns it).
    ///
    /// Order, chosen so that a failure at any step leaves nothing that outlives its purpose:
    /// 1. reserve a join code (`SET NX` with an expiry past the class's end; redraw on collision);
    /// 2. register the class in `att:closing` (the sweep drops entries whose class never appeared);
    /// 3. run create_class, which writes the class atomically (on failure the code is released).
    public func createClass(_ request: CreateClassRequest, actor: Actor, address: String,
                            completion: @escaping (Result<CreatedClass, AttendanceError>) -> Void) {
        guard actor.role != .student else {
            return completion(.failure(.forbidden("Only teachers and admins create classes")))
        }
        if let problem = Self.validate(request) { return completion(.failure(.badRequest(problem))) }
        var roster: [String] = []
        var seen = Set<String>()
        for id in request.roster where seen.insert(id).inserted { roster.append(id) }

        let classId = Identifier.newClassId()
        let now = clock()
        let closesAt = now + Int64(request.durationS) * 1000
        reserveCode(classId: classId, ttlS: request.durationS + codeExpiryMarginS, attempt: 1) { reserved in
            guard case .success(let code) = reserved else {
                if case .failure(let error) = reserved { completion(.failure(error)) }
                return
            }
            self.redis.send(["ZADD", Keys.closing, String(closesAt), classId]) { added in
                if case .failure(let error) = added {
                    self.releaseCode(code, classId: classId)
                    return completion(.failure(AttendanceError(redis: error)))
                }
                let args = [classId, request.name, actor.id, String(now), String(request.lateAfterS),
                            String(request.durationS), String(request.qrPeriodS), request.allowCodeCheckin ? "1" : "0",
                            code, Self.auditAddress(address),
                            request.allowedNetworks.map(\.description).joined(separator: ","),
                            request.devicePolicy.rawValue, request.joinRequires.rawValue, request.enrolUnknown.rawValue, request.courseId] + roster
                self.runClassScript(Self.createScript, classId: classId, args: args, decode: { value -> Int64? in
                    value.array?.count == 2 ? value.array?[0].int : nil
                }) { result in
                    switch result {
                    case .failure(let error):
                        self.releaseCode(code, classId: classId)
                        completion(.failure(error))
                    case .success(let startMs):
                        let params = ClassParams(teacherId: actor.id, name: request.name, qrPeriodS: request.qrPeriodS,
                                                 allowCode: request.allowCodeCheckin, code: code,
                                                 startMs: startMs, closesAtMs: closesAt,
                                                 allowedNetworks: request.allowedNetworks,
                                                 requiresLink: request.joinRequires == .link, readAtMs: now)
                        self.paramsCache[classId] = params
                        self.indexTeacherClass(teacherId: actor.id, classId: classId, startMs: startMs)
                        let qr = QRToken.current(classId: classId, periodS: request.qrPeriodS, nowMs: now, key: self.qrKey)
                        let link = self.linkToken(classId: classId, closesAtMs: closesAt)
                        completion(.success(CreatedClass(
                            classId: classId, name: request.name, teacherId: actor.id, code: code,
                            linkToken: link, link: JoinLink.path(token: link), qr: qr.qr, qrExpiresMs: qr.expiresMs,
                            startMs: startMs, closesAtMs: closesAt, lateAfterS: request.lateAfterS,
                            durationS: request.durationS, qrPeriodS: request.qrPeriodS,
                            allowCodeCheckin: request.allowCodeCheckin, allowedNetworks: request.allowedNetworks,
                            rosterSize: roster.count, devicePolicy: request.devicePolicy,
                            joinRequires: request.joinRequires, enrolUnknown: request.enrolUnknown)))
                    }
                }
            }
        }
    }

    /// A join link token that expires when the class ends.
    func linkToken(classId: String, closesAtMs: Int64) -> String {
        JoinLink.makeToken(classId: classId, expiresS: (closesAtMs + 999) / 1000, key: qrKey)
    }

    static func validate(_ request: CreateClassRequest) -> String? {
        if !CreateClassRequest.nameLength.contains(request.name.count)
            || !isCleanText(request.name, maxCharacters: CreateClassRequest.nameLength.upperBound) {
            return cleanTextRule("name", maxCharacters: CreateClassRequest.nameLength.upperBound,
                                 minCharacters: CreateClassRequest.nameLength.lowerBound)
        }
        if request.roster.count > CreateClassRequest.maxRoster {
            return "roster may list at most \(CreateClassRequest.maxRoster) students"
        }
        if let bad = request.roster.first(where: { !Identifier.isValid($0) }) {
            return "roster entry '\(bad.prefix(80))' is not a valid student_id (1–64 of A-Z a-z 0-9 _ . : -)"
        }
        if !CreateClassRequest.lateAfterRange.contains(request.lateAfterS) {
            return "late_after_s must be within \(CreateClassRequest.lateAfterRange)"
        }
        if !CreateClassRequest.durationRange.contains(request.durationS) {
            return "duration_s must be within \(CreateClassRequest.durationRange)"
        }
        if request.allowedNetworks.count > CreateClassRequest.maxAllowedNetworks {
            return "allowed_networks may list at most \(CreateClassRequest.maxAllowedNetworks) networks"
        }
        if !CreateClassRequest.qrPeriodRange.contains(request.qrPeriodS) {
            return "qr_period_s must be within \(CreateClassRequest.qrPeriodRange)"
        }
        return nil
    }

    /// Draws codes until one is free (`SET NX`); the expiry bounds a code's life even if no close
    /// ever deletes it.
    private func reserveCode(classId: String, ttlS: Int, attempt: Int,
                             completion: @escaping (Result<String, AttendanceError>) -> Void) {
        let code = makeJoinCode()
        redis.send(["SET", Keys.code(code), classId, "NX", "EX", String(ttlS)]) { [logger] result in
            switch result {
            case .failure(let error):
                completion(.failure(AttendanceError(redis: error)))
            case .success(let value) where value.isNull:
                guard attempt < self.codeAttempts else {
                    logger.error("no free join code found", metadata: ["attempts": "\(attempt)"])
                    return completion(.failure(.unavailable))
                }
                self.reserveCode(classId: classId, ttlS: ttlS, attempt: attempt + 1, completion: completion)
            case .success:
                completion(.success(code))
            }
        }
    }
}
