import RedisClient

extension ClassStore {
    /// Most unknown students one `enrol_unknown: approve` class keeps waiting (denied ones are kept
    /// too, up to five times this, so that a denied id stays denied); beyond, joins of new unknown
    /// ids answer `rate_limited`. Two hundred is a lecture hall; a leaked code cannot fill Redis.
    public static let pendingLimit = 200

    /// The teacher (or an admin) puts a waiting student on the roster
    /// (`POST /v1/classes/{id}/students/{sid}:approve`); the student's next join succeeds.
    /// Answers the name the request carried.
    public func approveEnrolment(classId: String, studentId: String, actor: Actor, address: String,
                                 completion: @escaping (Result<String?, AttendanceError>) -> Void) {
        answerEnrolment(Self.approveScript, classId: classId, studentId: studentId, actor: actor, address: address,
                        decode: { value in value.text.map { $0.isEmpty ? nil : $0 } }, completion: completion)
    }

    /// The teacher (or an admin) refuses a waiting student (`…:deny`); later joins with that id
    /// answer like an id not on the roster. Answers whether anything changed (false: denied before).
    public func denyEnrolment(classId: String, studentId: String, actor: Actor, address: String,
                              completion: @escaping (Result<Bool, AttendanceError>) -> Void) {
        answerEnrolment(Self.denyScript, classId: classId, studentId: studentId, actor: actor, address: address,
                        decode: { value in value.int.map { $0 == 1 } }, completion: completion)
    }

    /// The students waiting for approval, oldest request first (`GET /v1/classes/{id}/pending`).
    public func pendingEnrolments(classId: String, actor: Actor,
                                  completion: @escaping (Result<[PendingStudent], AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let owner = ownerArgument(actor) else { return completion(.failure(.notTeacherOfClass)) }
        runClassScript(Self.pendingScript, classId: classId, args: [owner], decode: { value -> [PendingStudent]? in
            guard let items = value.array, items.count % 3 == 0 else { return nil }
            var rows: [PendingStudent] = []
            var index = 0
            while index < items.count {
                guard let id = items[index].text, let at = items[index + 2].text.flatMap({ Int64($0) }) else { return nil }
                let name = items[index + 1].text ?? ""
                rows.append(PendingStudent(studentId: id, name: name.isEmpty ? nil : name, atMs: at))
                index += 3
            }
            return rows
        }, completion: completion)
    }

    private func answerEnrolment<T>(_ script: RedisScript, classId: String, studentId: String, actor: Actor, address: String,
                                    decode: @escaping (RedisValue) -> T?,
                                    completion: @escaping (Result<T, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let owner = ownerArgument(actor) else { return completion(.failure(.notTeacherOfClass)) }
        guard Identifier.isValid(studentId) else { return completion(.failure(.badRequest("student_id is not valid"))) }
        let args = [classId, studentId, String(clock()), actor.id, owner, Self.auditAddress(address)]
        runClassScript(script, classId: classId, args: args, decode: decode, completion: completion)
    }

    static let approveScript = RedisScript(EnrolmentScripts.approve, writes: true)
    static let denyScript = RedisScript(EnrolmentScripts.deny, writes: true)
    static let pendingScript = RedisScript(EnrolmentScripts.pending)
}
