extension ClassStore {
    /// A personal join link for every roster (or joined) student of the class
    /// (`GET /v1/classes/{id}/links`), for its teacher or an admin. Each expires when the class ends.
    public func personalLinks(classId: String, actor: Actor,
                              completion: @escaping (Result<[PersonalLink], AttendanceError>) -> Void) {
        guard actor.role != .student else { return completion(.failure(.notTeacherOfClass)) }
        snapshot(classId: classId, actor: actor) { listed in
            guard case .success(let snapshot) = listed else { return completion(listed.map { _ in [] }) }
            self.params(classId) { found in
                completion(found.map { params in
                    let expiresS = (params.closesAtMs + 999) / 1000
                    return snapshot.students.map { record in
                        PersonalLink(studentId: record.studentId, name: record.name,
                                     linkToken: JoinLink.makePersonalToken(classId: classId, studentId: record.studentId,
                                                                           expiresS: expiresS, key: self.qrKey))
                    }
                })
            }
        }
    }
}

/// One student's personal join link (`/j/<link_token>`).
public struct PersonalLink: Sendable, Equatable {
    public let studentId: String
    /// The name the student joined with (nil before the first join).
    public let name: String?
    public let linkToken: String
}
