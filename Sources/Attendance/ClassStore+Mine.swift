import RedisClient

extension ClassStore {
    /// Classes `GET /v1/classes?mine=1` lists, and how many the per-teacher index keeps.
    public static let mineLimit = 100

    /// Records a new class in its teacher's index (`att:mine:<teacher>`), trimmed to the latest
    /// `mineLimit`. A separate command after create_class, which may only touch the class's slot; a
    /// failure here only means the class is missing from the teacher's list (it is logged), and an
    /// entry whose class was purged is skipped when the list is read.
    func indexTeacherClass(teacherId: String, classId: String, startMs: Int64) {
        let key = Keys.mine(teacherId)
        redis.send(["ZADD", key, String(startMs), classId]) { [logger] added in
            if case .failure(let error) = added {
                return logger.warning("could not index a class for its teacher", metadata: ["class_id": "\(classId)", "error": "\(error)"])
            }
            self.redis.send(["ZREMRANGEBYRANK", key, "0", String(-(Self.mineLimit + 1))]) { _ in }
        }
    }

    /// The caller's own classes (teacher or admin), open ones first, then the most recently started.
    public func mineClasses(actor: Actor, completion: @escaping (Result<[ClassInfo], AttendanceError>) -> Void) {
        guard actor.role != .student else { return completion(.failure(.forbidden("Only teachers and admins have classes"))) }
        redis.send(["ZREVRANGE", Keys.mine(actor.id), "0", String(Self.mineLimit - 1)]) { [logger] result in
            let ids = Self.map(result, logger: logger) { value in value.array?.compactMap(\.text) }
            guard case .success(let ids) = ids else {
                if case .failure(let error) = ids { completion(.failure(error)) }
                return
            }
            guard !ids.isEmpty else { return completion(.success([])) }
            var infos: [ClassInfo?] = Array(repeating: nil, count: ids.count)
            var pending = ids.count
            var failure: AttendanceError?
            // As the teacher, so only classes the caller owns show (an admin's index holds only its own).
            let owner = Actor(id: actor.id, role: .teacher)
            for (index, id) in ids.enumerated() {
                self.classInfo(classId: id, actor: owner) { info in
                    switch info {
                    case .success(let info): infos[index] = info
                    case .failure(.unavailable): failure = .unavailable
                    case .failure: break  // purged or gone: a stale index entry
                    }
                    pending -= 1
                    guard pending == 0 else { return }
                    if let failure { return completion(.failure(failure)) }
                    let found = infos.compactMap { $0 }
                    // Stable: within each group the index's order (newest first) stays.
                    completion(.success(found.filter(\.isOpen) + found.filter { !$0.isOpen }))
                }
            }
        }
    }
}
