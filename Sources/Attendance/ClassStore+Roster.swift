import RedisClient

/// What one roster import wrote.
public struct RosterImportSummary: Sendable, Equatable {
    public let orgs: Int
    public let terms: Int
    public let courses: Int
    public let teachers: Int
    public let students: Int
    public let enrollments: Int
    /// Courses of an earlier import that this bundle no longer lists (now inactive: they cannot be opened).
    public let coursesDeactivated: Int
}

/// An imported section, as `POST /v1/classes {"course_id"}` and the exports read it.
public struct Course: Sendable, Equatable {
    public let id: String
    public let title: String
    public let teacherId: String
    public let classCode: String
    public let schoolId: String
    /// orgs.csv `identifier` of the school ("" when the file gives none).
    public let schoolNumber: String
    public let termTitle: String
    public let schoolYear: String
    public let lateAfterS: Int
    public let durationS: Int
    public let isActive: Bool
    public let roster: [String]
}

extension Keys {
    /// An imported section and its current roster; hash-tagged by the course so one script writes both.
    static func course(_ id: String) -> String { "att:course:{\(id)}" }
    static func courseRoster(_ id: String) -> String { "att:course:{\(id)}:roster" }
    /// Every course id ever imported (global set; lets a re-import find the courses it dropped).
    static let courses = "att:courses"
    /// An imported teacher or student: role, names, e-mail, username, identifier, `sso_id`.
    public static func person(_ id: String) -> String { "att:person:{\(id)}" }
    /// SSO identifier (lower-case e-mail, else username) → person id. Valid only while the person's
    /// own `sso_id` field still names it (a re-import that changes an address leaves the old key).
    public static func sso(_ ssoId: String) -> String { "att:sso:" + ssoId }
}

extension ClassStore {
    /// Writes a validated bundle: each person, each course with its roster, then marks courses of
    /// earlier imports that the bundle no longer lists inactive. Every write replaces what it writes
    /// whole, so importing the same bundle again changes nothing, and a new bundle applies its
    /// changes; sessions already opened keep the roster they were opened with (dropped students
    /// leave future sessions only). Each write touches one slot; if Redis fails half-way, importing
    /// the bundle again completes it.
    public func importRoster(_ bundle: RosterBundle, completion: @escaping (Result<RosterImportSummary, AttendanceError>) -> Void) {
        let now = String(clock())
        var pending = 0
        var failure: AttendanceError?
        var finishing = false
        func done(_ result: Result<RedisValue, RedisError>) {
            pending -= 1
            if case .failure(let error) = result, failure == nil { failure = AttendanceError(redis: error) }
            if pending == 0 && finishing { finish() }
        }
        func finish() {
            if let failure { return completion(.failure(failure)) }
            deactivateDroppedCourses(keeping: Set(bundle.courses.map(\.id))) { result in
                completion(result.map { dropped in
                    RosterImportSummary(orgs: bundle.orgs.count, terms: bundle.terms.count, courses: bundle.courses.count,
                                        teachers: bundle.people.filter { $0.role == "teacher" }.count,
                                        students: bundle.people.filter { $0.role == "student" }.count,
                                        enrollments: bundle.enrollments, coursesDeactivated: dropped)
                })
            }
        }
        for person in bundle.people {
            pending += 1
            redis.evalScript(Self.personScript, keys: [Keys.person(person.id)],
                             args: [person.role, person.givenName, person.familyName, person.name, person.email,
                                    person.username, person.identifier, person.ssoId, now], completion: done)
            if !person.ssoId.isEmpty {
                pending += 1
                redis.send(["SET", Keys.sso(person.ssoId), person.id], completion: done)
            }
        }
        for course in bundle.courses {
            let school = bundle.orgs[course.schoolId]
            let term = course.termIds.first.flatMap { bundle.terms[$0] }
            pending += 2
            redis.evalScript(Self.courseScript, keys: [Keys.course(course.id), Keys.courseRoster(course.id)],
                             args: [course.title, course.teacherId, course.classCode, course.schoolId,
                                    school?.identifier ?? "", term?.title ?? "", term?.schoolYear ?? "",
                                    String(course.lateAfterS), String(course.durationS), now] + course.studentIds,
                             completion: done)
            redis.send(["SADD", Keys.courses, course.id], completion: done)
        }
        finishing = true
        if pending == 0 { finish() }
    }

    private func deactivateDroppedCourses(keeping: Set<String>, completion: @escaping (Result<Int, AttendanceError>) -> Void) {
        redis.send(["SMEMBERS", Keys.courses]) { result in
            let known: [String]
            switch result {
            case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
            case .success(let value): known = value.array?.compactMap(\.text) ?? []
            }
            let dropped = known.filter { !keeping.contains($0) && Identifier.isValid($0) }
            guard !dropped.isEmpty else { return completion(.success(0)) }
            var pending = dropped.count
            var changed = 0
            var failure: AttendanceError?
            for id in dropped {
                self.redis.evalScript(Self.deactivateCourseScript, keys: [Keys.course(id), Keys.courseRoster(id)], args: [String]()) { result in
                    pending -= 1
                    switch result {
                    case .success(let value): changed += Int(value.int ?? 0)
                    case .failure(let error): failure = failure ?? AttendanceError(redis: error)
                    }
                    if pending == 0 { completion(failure.map { .failure($0) } ?? .success(changed)) }
                }
            }
        }
    }

    /// The imported course `id`, or `notFound`.
    public func course(id: String, completion: @escaping (Result<Course, AttendanceError>) -> Void) {
        guard Identifier.isValid(id) else { return completion(.failure(.notFound("No such course"))) }
        redis.evalScript(Self.readCourseScript, keys: [Keys.course(id), Keys.courseRoster(id)], args: [String]()) { [logger] result in
            let mapped: Result<Course?, AttendanceError> = Self.map(result, logger: logger) { value in
                guard let parts = value.array, parts.count == 2, let flat = parts[0].array, let members = parts[1].array else { return nil }
                var fields: [String: String] = [:]
                var index = 0
                while index + 1 < flat.count {
                    if let key = flat[index].text, let text = flat[index + 1].text { fields[key] = text }
                    index += 2
                }
                guard let title = fields["title"] else { return .some(nil) }
                return Course(id: id, title: title, teacherId: fields["teacher"] ?? "", classCode: fields["code"] ?? "",
                              schoolId: fields["school"] ?? "", schoolNumber: fields["school_number"] ?? "",
                              termTitle: fields["term"] ?? "", schoolYear: fields["school_year"] ?? "",
                              lateAfterS: Int(fields["late_after_s"] ?? "") ?? 600, durationS: Int(fields["duration_s"] ?? "") ?? 3600,
                              isActive: fields["status"] == "active", roster: members.compactMap(\.text).sorted())
            }
            completion(mapped.flatMap { $0.map { .success($0) } ?? .failure(.notFound("No such course")) })
        }
    }

    /// Opens a session of an imported course: its title, teacher, current roster and late rule.
    /// `request` carries the caller's other options (duration, QR period, …); only the course's
    /// teacher or an admin may open it, and the session always belongs to the course's teacher.
    /// With `durationFromCourse` the session lasts the course's `durationS`.
    public func openCourse(id: String, request: CreateClassRequest, durationFromCourse: Bool, actor: Actor, address: String,
                           completion: @escaping (Result<CreatedClass, AttendanceError>) -> Void) {
        guard actor.role != .student else { return completion(.failure(.forbidden("Only teachers and admins create classes"))) }
        course(id: id) { result in
            switch result {
            case .failure(let error): return completion(.failure(error))
            case .success(let course):
                guard course.isActive else {
                    return completion(.failure(.conflict("Course \(id) is no longer in the imported roster")))
                }
                guard actor.role == .admin || actor.id == course.teacherId else {
                    return completion(.failure(.forbidden("Only the course's teacher or an admin may open it")))
                }
                var request = request
                request.name = course.title
                request.roster = course.roster
                request.lateAfterS = course.lateAfterS
                request.courseId = id
                if durationFromCourse { request.durationS = course.durationS }
                let owner = course.teacherId.isEmpty ? actor : Actor(id: course.teacherId, role: .teacher)
                self.createClass(request, actor: owner, address: address, completion: completion)
            }
        }
    }

    /// The imported person `id` (fields of `att:person:{id}`), nil when none.
    public func person(id: String, completion: @escaping (Result<[String: String]?, AttendanceError>) -> Void) {
        guard Identifier.isValid(id) else { return completion(.success(nil)) }
        redis.send(["HGETALL", Keys.person(id)]) { [logger] result in
            completion(Self.map(result, logger: logger) { value in
                guard let flat = value.array else { return nil }
                guard !flat.isEmpty else { return .some(nil) }
                var fields: [String: String] = [:]
                var index = 0
                while index + 1 < flat.count {
                    if let key = flat[index].text, let text = flat[index + 1].text { fields[key] = text }
                    index += 2
                }
                return .some(fields)
            })
        }
    }

    static let personScript = RedisScript(RosterScripts.person, writes: true)
    static let courseScript = RedisScript(RosterScripts.course, writes: true)
    static let deactivateCourseScript = RedisScript(RosterScripts.deactivateCourse, writes: true)
    static let readCourseScript = RedisScript(RosterScripts.readCourse)
}

/// An imported person found by a school account's identifier.
public struct RosterPerson: Sendable, Equatable {
    /// The OneRoster `sourcedId`: the id courses, rosters and reports know the person by.
    public let id: String
    /// `teacher`, `student`, … as users.csv gives it.
    public let role: String
    public let name: String
}

extension ClassStore {
    /// The imported person whose `sso_id` is `ssoId` (compared lower-case), or nil when none is — also
    /// when `att:sso:` still points at a person a later import gave another address (the person's own
    /// `sso_id` must agree). Two plain reads, each of one slot.
    public func rosterPerson(ssoId: String, completion: @escaping (Result<RosterPerson?, AttendanceError>) -> Void) {
        let key = ssoId.lowercased()
        redis.send(["GET", Keys.sso(key)]) { [logger] result in
            switch result {
            case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
            case .success(let value):
                guard let id = value.text, Identifier.isValid(id) else { return completion(.success(nil)) }
                self.redis.send(["HMGET", Keys.person(id), "sso_id", "role", "name"]) { result in
                    completion(Self.map(result, logger: logger) { value -> RosterPerson?? in
                        let fields = value.array?.map(\.text) ?? []
                        guard fields.count == 3, fields[0] == key, let role = fields[1] else { return .some(nil) }
                        return .some(RosterPerson(id: id, role: role, name: fields[2] ?? ""))
                    })
                }
            }
        }
    }
}
