extension ClassStore {
    /// A personal join link for every roster (or joined) student of the class
    /// (`GET /v1/classes/{id}/links`), for its teacher or an admin. Each expires when the class ends.
    public func personalLinks(classId: String, actor: Actor,
                              completion: @escaping (Result<PersonalLinks, AttendanceError>) -> Void) {
        guard actor.role != .student else { return completion(.failure(.notTeacherOfClass)) }
        snapshot(classId: classId, actor: actor) { listed in
            let snapshot: ClassSnapshot
            switch listed {
            case .failure(let error): return completion(.failure(error))
            case .success(let found): snapshot = found
            }
            self.params(classId) { found in
                completion(found.map { params in
                    let expiresS = (params.closesAtMs + 999) / 1000
                    return PersonalLinks(className: params.name, links: snapshot.students.map { record in
                        PersonalLink(studentId: record.studentId, name: record.name,
                                     linkToken: JoinLink.makePersonalToken(classId: classId, studentId: record.studentId,
                                                                           expiresS: expiresS, key: self.qrKey))
                    })
                })
            }
        }
    }
}

/// The personal join links of a class, with its name (for the printable sheet).
public struct PersonalLinks: Sendable, Equatable {
    public let className: String
    public let links: [PersonalLink]
}

/// One student's personal join link (`/j/<link_token>`).
public struct PersonalLink: Sendable, Equatable {
    public let studentId: String
    /// The name the student joined with (nil before the first join).
    public let name: String?
    public let linkToken: String
}
