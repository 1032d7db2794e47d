import RedisClient

/// A student's attendance over closed sessions, and where it puts them.
public struct AttendancePattern: Sendable, Equatable {
    public enum Tier: String, Sendable {
        /// Absent from less than 5 % of sessions.
        case onTrack = "on_track"
        /// 5 % to under 10 %.
        case atRisk = "at_risk"
        /// 10 % or more: chronic absence, the usual US definition (any reason counts).
        case chronic
    }

    public let studentId: String
    public var name: String?
    public var sessions = 0
    public var present = 0
    public var late = 0
    public var absent = 0
    public var excused = 0
    /// The most consecutive absences (absent or excused), in session order.
    public var longestStreak = 0
    /// Consecutive absences up to the latest session.
    public var currentStreak = 0

    public init(studentId: String) { self.studentId = studentId }

    /// Absences (excused ones too) per session; 0 without sessions.
    public var absenceRate: Double { sessions == 0 ? 0 : Double(absent + excused) / Double(sessions) }

    public var tier: Tier {
        switch absenceRate {
        case ..<0.05: .onTrack
        case ..<0.10: .atRisk
        default: .chronic
        }
    }

    /// Adds one session's status; sessions must come in start order for the streaks.
    mutating func add(_ status: AttendanceStatus) {
        switch status {
        case .unmarked: return
        case .present: present += 1
        case .late: late += 1
        case .absent: absent += 1
        case .excused: excused += 1
        }
        sessions += 1
        if status == .absent || status == .excused {
            currentStreak += 1
            longestStreak = max(longestStreak, currentStreak)
        } else {
            currentStreak = 0
        }
    }
}

/// One closed class as the reports read it: its teacher, start and each student's status.
struct ReportSession {
    let classId: String
    let teacherId: String
    let startMs: Int64
    let statuses: [(String, AttendanceStatus)]
}

extension ClassStore {
    /// The longest period one report may cover (a school year and then some).
    public static let maxReportDays: Int64 = 400

    /// `GET /v1/reports/chronic-absence`: every student of the closed classes that started in
    /// [`fromMs`, `toMs`) — an admin's all of them, a teacher's only their own — with rate, tier and
    /// streaks, most absent first. Reads the retention index (closed classes by close time), then
    /// one script per class.
    public func chronicAbsence(fromMs: Int64, toMs: Int64, actor: Actor,
                               completion: @escaping (Result<(sessions: Int, students: [AttendancePattern]), AttendanceError>) -> Void) {
        guard actor.role != .student else { return completion(.failure(.forbidden("Only teachers and admins read reports"))) }
        // A class closes at most a day after it starts (the longest duration), plus a sweep's delay.
        let lastClose = toMs + ReportDate.dayMs + 3_600_000
        redis.send(["ZRANGEBYSCORE", Keys.retained, String(fromMs), String(lastClose)]) { result in
            let ids: [String]
            switch result {
            case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
            case .success(let value): ids = value.array?.compactMap(\.text).filter(Identifier.isValid) ?? []
            }
            self.reportSessions(ids, actor: actor, only: "") { sessions, _ in
                completion(sessions.map { all in
                    let chosen = all.filter { $0.startMs >= fromMs && $0.startMs < toMs }
                    return (chosen.count, Self.patterns(chosen))
                })
            }
        }
    }

    /// `GET /v1/students/{id}/summary`: one student's pattern over their closed classes that
    /// started in [`fromMs`, `toMs`), from the per-student index. An admin sees all of them, a
    /// teacher those they taught (none: `forbidden`), a student only their own summary.
    public func studentSummary(studentId: String, fromMs: Int64, toMs: Int64, actor: Actor,
                               completion: @escaping (Result<(pattern: AttendancePattern, classIds: [String]), AttendanceError>) -> Void) {
        guard Identifier.isValid(studentId) else { return completion(.failure(.notFound("No such student"))) }
        if actor.role == .student && actor.id != studentId {
            return completion(.failure(.forbidden("A student may read only their own summary")))
        }
        redis.send(["ZRANGEBYSCORE", Keys.studentClasses(studentId), String(fromMs), "(\(toMs)"]) { result in
            let ids: [String]
            switch result {
            case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
            case .success(let value): ids = value.array?.compactMap(\.text).filter(Identifier.isValid) ?? []
            }
            self.reportSessions(ids, actor: actor.role == .student ? .system : actor, only: studentId) { sessions, purged in
                // Classes purged since they were indexed leave the index as they are met.
                if !purged.isEmpty { self.redis.send(["ZREM", Keys.studentClasses(studentId)] + purged) { _ in } }
                completion(sessions.flatMap { sessions in
                    if actor.role == .teacher && sessions.isEmpty {
                        return .failure(.forbidden("Only an admin or a teacher of this student's classes may read this summary"))
                    }
                    let pattern = Self.patterns(sessions).first ?? AttendancePattern(studentId: studentId)
                    return .success((pattern, sessions.map(\.classId)))
                })
            }
        }
    }

    /// Classes read at once by a report: enough to keep Redis busy, few enough that a reply never
    /// waits behind a year of others long enough to hit the command timeout (a report may read
    /// thousands of classes, each tens of KiB).
    static let reportWindow = 8

    /// The closed classes among `ids` the actor may read, in start order, and the ids of classes that
    /// no longer exist; `only` limits each to one student. Two plain reads per class (its meta
    /// fields, then its records), pipelined `reportWindow` classes at a time: a report reads a
    /// hundred thousand records, and matching each record's status here costs Redis a quarter of what
    /// a Lua script spends on it.
    private func reportSessions(_ ids: [String], actor: Actor, only: String,
                                completion: @escaping (Result<[ReportSession], AttendanceError>, [String]) -> Void) {
        guard !ids.isEmpty else { return completion(.success([]), []) }
        var missing: [String] = []
        var sessions: [ReportSession?] = Array(repeating: nil, count: ids.count)
        var next = 0
        var inFlight = 0
        var failure: AttendanceError?
        func read() {
            guard next < ids.count, failure == nil else { return }
            let index = next, id = ids[index]
            next += 1
            inFlight += 1
            var meta: [String?] = []
            redis.send(["HMGET", Keys.meta(id), "teacher_id", "start_ms", "state"]) { result in
                switch result {
                case .success(let value): meta = value.array?.map(\.text) ?? []
                case .failure(let error): failure = failure ?? AttendanceError(redis: error)
                }
            }
            // Replies come in order, so `meta` is set when this one arrives.
            redis.send(only.isEmpty ? ["HGETALL", Keys.students(id)] : ["HGET", Keys.students(id), only]) { result in
                if case .success(let records) = result, meta.count == 3 {
                    if let teacher = meta[0], let start = meta[1].flatMap({ Int64($0) }) {
                        if meta[2] == "closed" && (actor.role == .admin || actor.id == teacher) {
                            sessions[index] = ReportSession(classId: id, teacherId: teacher, startMs: start,
                                                            statuses: Self.statuses(records, only: only))
                        }
                    } else {
                        missing.append(id)
                    }
                } else if case .failure(let error) = result {
                    failure = failure ?? AttendanceError(redis: error)
                }
                inFlight -= 1
                // The next class; after a failure nothing more is sent, and the report ends once what
                // was sent is answered.
                read()
                guard inFlight == 0 else { return }
                if let failure { return completion(.failure(failure), missing) }
                completion(.success(sessions.compactMap { $0 }.sorted { ($0.startMs, $0.classId) < ($1.startMs, $1.classId) }), missing)
            }
        }
        for _ in 0..<min(Self.reportWindow, ids.count) { read() }
    }

    /// Each student's status in a class's records (HGETALL's flat list, or one HGET's record for
    /// `only`). Every known student of a closed class has a record (the close marked the unmarked
    /// ones absent), so the records alone list them.
    static func statuses(_ records: RedisValue, only: String) -> [(String, AttendanceStatus)] {
        if !only.isEmpty {
            guard let record = records.bytes else { return [] }
            return [(only, status(inRecord: record))]
        }
        guard let flat = records.array else { return [] }
        var out: [(String, AttendanceStatus)] = []
        out.reserveCapacity(flat.count / 2)
        var index = 0
        while index + 1 < flat.count {
            if let sid = flat[index].text, let record = flat[index + 1].bytes { out.append((sid, status(inRecord: record))) }
            index += 2
        }
        return out
    }

    private static let statusKey = Array(#""status":""#.utf8)

    /// The `status` of a stored record (cjson's output), found without decoding it: names in a record
    /// are JSON strings, whose quotes are escaped, so `"status":"` cannot occur inside one.
    static func status(inRecord record: [UInt8]) -> AttendanceStatus {
        let key = statusKey
        var i = 0
        while i + key.count < record.count {
            if record[i] == key[0] && record[i..<(i + key.count)].elementsEqual(key) {
                let start = i + key.count
                var end = start
                while end < record.count && record[end] != UInt8(ascii: "\"") { end += 1 }
                return AttendanceStatus(rawValue: String(decoding: record[start..<end], as: UTF8.self)) ?? .unmarked
            }
            i += 1
        }
        return .unmarked
    }

    /// Patterns of every student in `sessions` (already in start order), most absent first.
    static func patterns(_ sessions: [ReportSession]) -> [AttendancePattern] {
        var byStudent: [String: AttendancePattern] = [:]
        for session in sessions {
            for (sid, status) in session.statuses {
                byStudent[sid, default: AttendancePattern(studentId: sid)].add(status)
            }
        }
        return byStudent.values.sorted { ($1.absenceRate, $0.studentId) < ($0.absenceRate, $1.studentId) }
    }

    /// Fills in the imported names (`att:person:{id}` `name`), one pipelined HGET per student.
    public func addNames(_ patterns: [AttendancePattern], completion: @escaping (Result<[AttendancePattern], AttendanceError>) -> Void) {
        guard !patterns.isEmpty else { return completion(.success([])) }
        var named = patterns
        var pending = patterns.count
        var failure: AttendanceError?
        for (index, pattern) in patterns.enumerated() {
            redis.send(["HGET", Keys.person(pattern.studentId), "name"]) { result in
                switch result {
                case .success(let value): named[index].name = value.text
                case .failure(let error): failure = failure ?? AttendanceError(redis: error)
                }
                pending -= 1
                if pending == 0 { completion(failure.map { .failure($0) } ?? .success(named)) }
            }
        }
    }
}
