import RedisClient

extension ClassStore {
    public static let maxNoteCharacters = 500

    /// The teacher sets one student's status (`PATCH …/attendance/{student_id}`). Allowed after the
    /// class closed: correcting the record afterwards is part of a teacher's job.
    public func override(classId: String, studentId: String, status: AttendanceStatus, note: String?,
                         actor: Actor, address: String,
                         completion: @escaping (Result<OverrideResult, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let owner = ownerArgument(actor) else { return completion(.failure(.notTeacherOfClass)) }
        guard Identifier.isValid(studentId) else { return completion(.failure(.badRequest("student_id is not valid"))) }
        if let note, !Self.isCleanText(note, maxCharacters: Self.maxNoteCharacters) {
            return completion(.failure(.badRequest(Self.cleanTextRule("note", maxCharacters: Self.maxNoteCharacters))))
        }
        let args = [classId, studentId, status.rawValue, String(clock()), actor.id, owner, Self.auditAddress(address),
                    note == nil ? "0" : "1", note ?? ""]
        runClassScript(Self.overrideScript, classId: classId, args: args, decode: Self.decodeStatusReply) { result in
            completion(result.map { status, atMs, changed in
                OverrideResult(studentId: studentId, status: status, atMs: atMs, changed: changed)
            })
        }
    }

    /// One status for many students (`POST …/attendance:bulk`); all or nothing: an id that is neither
    /// on the roster nor joined fails the whole request with `not_on_roster`.
    public func bulk(classId: String, target: BulkTarget, status: AttendanceStatus, actor: Actor, address: String,
                     completion: @escaping (Result<BulkResult, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let owner = ownerArgument(actor) else { return completion(.failure(.notTeacherOfClass)) }
        var args = [classId, status.rawValue, String(clock()), actor.id, owner, Self.auditAddress(address)]
        switch target {
        case .allUnmarked:
            args.append("all_unmarked")
        case .students(let ids):
            guard !ids.isEmpty, ids.count <= BulkTarget.maxStudents else {
                return completion(.failure(.badRequest("student_ids must list 1–\(BulkTarget.maxStudents) students")))
            }
            guard ids.allSatisfy(Identifier.isValid) else {
                return completion(.failure(.badRequest("student_ids contains an invalid student_id")))
            }
            args.append("list")
            args.append(contentsOf: Set(ids))
        }
        runClassScript(Self.bulkScript, classId: classId, args: args, decode: { value -> BulkResult? in
            guard let items = value.array else { return nil }
            let ids = items.compactMap(\.text)
            return ids.count == items.count ? BulkResult(changed: ids) : nil
        }, completion: completion)
    }

    /// Closes the class now: unmarked students become absent, then `class_closed`. The join code and
    /// the auto-close entry are removed afterwards; if that fails the sweep finishes it.
    public func close(classId: String, actor: Actor, address: String,
                      completion: @escaping (Result<CloseResult, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let owner = ownerArgument(actor) else { return completion(.failure(.notTeacherOfClass)) }
        closeClass(classId: classId, actorId: actor.id, owner: owner, address: address, completion: completion)
    }

    func closeClass(classId: String, actorId: String, owner: String, address: String,
                    completion: @escaping (Result<CloseResult, AttendanceError>) -> Void) {
        let args = [classId, String(clock()), actorId, owner, Self.auditAddress(address)]
        runClassScript(Self.closeScript, classId: classId, args: args, decode: { value -> (CloseResult, String)? in
            guard let fields = value.array, fields.count == 4, let closedAt = fields[0].int,
                  let marked = fields[1].int, let code = fields[2].text,
                  let offsetText = fields[3].text, let offset = EventOffset(offsetText)
            else { return nil }
            return (CloseResult(closedAtMs: closedAt, markedAbsent: Int(marked), offset: offset), code)
        }) { result in
            if case .success(let (_, code)) = result { self.forgetClass(classId, code: code, closed: true) }
            completion(result.map(\.0))
        }
    }

    /// Removes what only an open class needs: its join code, its auto-close entry, its cached facts.
    /// A closed class enters the retention index first, so a crash in between leaves it in
    /// `att:closing`, whose sweep calls this again.
    func forgetClass(_ classId: String, code: String, closed: Bool) {
        paramsCache[classId] = nil
        releaseCode(code, classId: classId)
        let removeClosing = { [logger, redis] in
            redis.send(["ZREM", Keys.closing, classId]) { result in
                if case .failure(let error) = result {
                    logger.warning("could not remove auto-close entry", metadata: ["class_id": "\(classId)", "error": "\(error)"])
                }
            }
        }
        guard closed else { return removeClosing() }
        registerAfterClose(classId)
        // Scored now, not by the close time: at most a sweep interval later than the real close,
        // and the purge script checks the real `closed_at_ms` anyway.
        redis.send(["ZADD", Keys.retained, "NX", String(clock()), classId]) { [logger] result in
            if case .failure(let error) = result {
                return logger.warning("could not register class for retention", metadata: ["class_id": "\(classId)", "error": "\(error)"])
            }
            removeClosing()
        }
    }
}
