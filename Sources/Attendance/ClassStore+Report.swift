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

    /// The closed classes among `ids` the actor may read, in start order, and the ids of classes that
    /// no longer exist; `only` limits each to one student.
    private func reportSessions(_ ids: [String], actor: Actor, only: String,
                                completion: @escaping (Result<[ReportSession], AttendanceError>, [String]) -> Void) {
        guard !ids.isEmpty else { return completion(.success([]), []) }
        var missing: [String] = []
        let owner = actor.role == .admin ? "" : actor.id
        var sessions: [ReportSession?] = Array(repeating: nil, count: ids.count)
        var pending = ids.count
        var failure: AttendanceError?
        for (index, id) in ids.enumerated() {
            runClassScript(Self.reportScript, classId: id, args: [owner, only], decode: { value -> ReportSession?? in
                guard let items = value.array else { return nil }
                guard items.count >= 3 else { return .some(nil) }  // skipped: not closed, not the actor's, gone
                guard let teacher = items[0].text, let start = items[1].text.flatMap({ Int64($0) }), items.count % 2 == 0 else { return nil }
                var statuses: [(String, AttendanceStatus)] = []
                statuses.reserveCapacity(items.count / 2 - 1)
                var i = 2
                while i + 1 < items.count {
                    if let sid = items[i].text, let status = items[i + 1].text.flatMap(AttendanceStatus.init(rawValue:)) {
                        statuses.append((sid, status))
                    }
                    i += 2
                }
                return .some(ReportSession(classId: id, teacherId: teacher, startMs: start, statuses: statuses))
            }) { result in
                switch result {
                case .success(let session): sessions[index] = session
                case .failure(.notFound): missing.append(id)
                case .failure(let error): failure = failure ?? error
                }
                pending -= 1
                guard pending == 0 else { return }
                if let failure { return completion(.failure(failure), missing) }
                completion(.success(sessions.compactMap { $0 }.sorted { ($0.startMs, $0.classId) < ($1.startMs, $1.classId) }), missing)
            }
        }
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

    /// ARGV: owner ('' = any), only_sid ('' = everyone). Returns {teacher, start_ms, sid, status, …}
    /// for a closed class the owner may read, {} otherwise; not_found for a class that is gone. The
    /// status is matched in the stored record's JSON rather than decoded: a report reads a
    /// hundred thousand records, and names inside the record are escaped, so `"status":"` cannot
    /// appear in them.
    static let reportScript = RedisScript(LuaPrelude.source + #"""
local owner, only = ARGV[1], ARGV[2]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if meta.state ~= 'closed' or not owns(meta, owner) then return {} end
local out = { meta.teacher, int(meta.start) }
local function add(sid, raw)
  out[#out + 1] = sid
  out[#out + 1] = (raw and string.match(raw, '"status":"(%a+)"')) or 'unmarked'
end
if only ~= '' then
  if redis.call('SISMEMBER', KNOWN, only) == 1 then add(only, redis.call('HGET', STUDENTS, only)) end
  return out
end
local all = {}
local flat = redis.call('HGETALL', STUDENTS)
for i = 1, #flat, 2 do all[flat[i]] = flat[i + 1] end
for _, sid in ipairs(redis.call('SMEMBERS', KNOWN)) do add(sid, all[sid] or false) end
return out
"""#)
}
