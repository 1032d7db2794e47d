import RedisClient

/// One class session with everything an SIS load needs: its attendance rows, its times and, when
/// it was opened from an imported course, that course (section, school, term).
public struct SessionExport: Sendable {
    public let classId: String
    public let name: String
    public let teacherId: String
    public let startMs: Int64
    public let closedAtMs: Int64?
    public let course: Course?
    public let students: [StudentRecord]
}

extension ClassStore {
    /// A class's rows and facts for an export, for its teacher or an admin.
    public func sessionExport(classId: String, actor: Actor, completion: @escaping (Result<SessionExport, AttendanceError>) -> Void) {
        guard actor.role != .student else { return completion(.failure(.notTeacherOfClass)) }
        snapshot(classId: classId, actor: actor) { result in
            switch result {
            case .failure(let error): completion(.failure(error))
            case .success(let snapshot):
                self.redis.send(["HMGET", Keys.meta(classId), "name", "teacher_id", "start_ms", "closed_at_ms", "course_id"]) { meta in
                    let fields: [String?]
                    switch meta {
                    case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
                    case .success(let value): fields = value.array?.map(\.text) ?? []
                    }
                    guard fields.count == 5, let name = fields[0], let teacher = fields[1],
                          let start = fields[2].flatMap({ Int64($0) }) else { return completion(.failure(.classNotFound)) }
                    let export = { (course: Course?) in
                        completion(.success(SessionExport(classId: classId, name: name, teacherId: teacher, startMs: start,
                                                          closedAtMs: fields[3].flatMap { Int64($0) }, course: course,
                                                          students: snapshot.students)))
                    }
                    guard let courseId = fields[4], !courseId.isEmpty else { return export(nil) }
                    self.course(id: courseId) { course in
                        switch course {
                        case .success(let course): export(course)
                        case .failure(.notFound): export(nil)
                        case .failure(let error): completion(.failure(error))
                        }
                    }
                }
            }
        }
    }

    /// Every class closed at or after `sinceMs` that started at or after it (from the retention
    /// index), oldest first, as the admin sees them. Classes that vanish meanwhile (purged) are skipped.
    public func closedSessions(sinceMs: Int64, completion: @escaping (Result<[SessionExport], AttendanceError>) -> Void) {
        redis.send(["ZRANGEBYSCORE", Keys.retained, String(sinceMs), "+inf"]) { result in
            let ids: [String]
            switch result {
            case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
            case .success(let value): ids = value.array?.compactMap(\.text).filter(Identifier.isValid) ?? []
            }
            var exports: [SessionExport?] = Array(repeating: nil, count: ids.count)
            var pending = ids.count
            var failure: AttendanceError?
            guard pending > 0 else { return completion(.success([])) }
            for (index, id) in ids.enumerated() {
                self.sessionExport(classId: id, actor: .system) { result in
                    switch result {
                    case .success(let export): exports[index] = export
                    case .failure(.notFound): break
                    case .failure(let error): failure = failure ?? error
                    }
                    pending -= 1
                    guard pending == 0 else { return }
                    if let failure { return completion(.failure(failure)) }
                    completion(.success(exports.compactMap { $0 }.filter { $0.startMs >= sinceMs && $0.closedAtMs != nil }
                        .sorted { ($0.startMs, $0.classId) < ($1.startMs, $1.classId) }))
                }
            }
        }
    }
}
