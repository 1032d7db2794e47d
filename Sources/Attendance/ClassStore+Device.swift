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
}
