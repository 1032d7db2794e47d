import RedisClient

extension ClassStore {
    /// Events per page unless asked otherwise, and the most one page may hold.
    public static let defaultEventPage = 1000
    public static let maxEventPage = 10_000

    /// Class fields and status counts (`GET /v1/classes/{id}`), for its teacher or an admin.
    public func classInfo(classId: String, actor: Actor, completion: @escaping (Result<ClassInfo, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let owner = ownerArgument(actor) else { return completion(.failure(.notTeacherOfClass)) }
        let now = clock()
        runClassScript(Self.infoScript, classId: classId, args: [owner], decode: { value -> ClassInfo? in
            guard let parts = value.array, parts.count == 3, let flat = parts[0].array,
                  let countValues = parts[1].array, countValues.count == 5, let rosterSize = parts[2].int
            else { return nil }
            var meta: [String: String] = [:]
            var index = 0
            while index + 1 < flat.count {
                if let key = flat[index].text, let value = flat[index + 1].text { meta[key] = value }
                index += 2
            }
            var counts = StatusCounts()
            let numbers = countValues.compactMap(\.int).map(Int.init)
            guard numbers.count == 5 else { return nil }
            (counts.unmarked, counts.present, counts.late, counts.absent, counts.excused) =
                (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4])
            guard let name = meta["name"], let teacher = meta["teacher_id"], let state = meta["state"],
                  let start = meta["start_ms"].flatMap({ Int64($0) }), let closes = meta["closes_at_ms"].flatMap({ Int64($0) }),
                  let late = meta["late_after_s"].flatMap({ Int($0) }), let duration = meta["duration_s"].flatMap({ Int($0) }),
                  let period = meta["qr_period_s"].flatMap({ Int($0) })
            else { return nil }
            let isOpen = state == "open" && now < closes
            return ClassInfo(
                classId: classId, name: name, teacherId: teacher, isOpen: isOpen, startMs: start, closesAtMs: closes,
                closedAtMs: meta["closed_at_ms"].flatMap { Int64($0) }, lateAfterS: late, durationS: duration,
                qrPeriodS: period, allowCodeCheckin: meta["allow_code"] == "1",
                allowedNetworks: Self.storedNetworks(meta["allowed_networks"]),
                code: isOpen ? meta["code"] : nil,
                linkToken: isOpen ? self.linkToken(classId: classId, closesAtMs: closes) : nil,
                rosterSize: Int(rosterSize),
                // Classes created before a setting existed have its default.
                devicePolicy: meta["device_policy"].flatMap(DevicePolicy.init(rawValue:)) ?? .flag,
                joinRequires: meta["join_requires"].flatMap(JoinRequirement.init(rawValue:)) ?? .code,
                enrolUnknown: meta["enrol_unknown"].flatMap(EnrolUnknown.init(rawValue:)) ?? .refuse,
                counts: counts,
                offset: meta["last_id"].flatMap { EventOffset($0) } ?? .zero)
        }, completion: completion)
    }

    /// The class's current QR token (`GET /v1/classes/{id}/qr`), for its teacher or an admin.
    public func currentQR(classId: String, actor: Actor, completion: @escaping (Result<QRCode, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard ownerArgument(actor) != nil else { return completion(.failure(.notTeacherOfClass)) }
        params(classId) { result in
            completion(result.flatMap { params in
                guard actor.role == .admin || params.teacherId == actor.id else { return .failure(.notTeacherOfClass) }
                let current = QRToken.current(classId: classId, periodS: params.qrPeriodS, nowMs: self.clock(), key: self.qrKey)
                return .success(QRCode(classId: classId, qr: current.qr, expiresMs: current.expiresMs, periodS: params.qrPeriodS))
            })
        }
    }

    /// Every roster or joined student with its status, and the offset the snapshot is consistent
    /// with (read in one script). Teachers of the class and admins see everyone; a student of the
    /// class sees only its own row.
    public func snapshot(classId: String, actor: Actor, completion: @escaping (Result<ClassSnapshot, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let (owner, only) = readScope(classId: classId, actor: actor) else {
            return completion(.failure(.forbidden("This token is for another class")))
        }
        runClassScript(Self.snapshotScript, classId: classId, args: [owner, only], decode: { Self.decodeSnapshot($0, classId: classId) },
                       completion: completion)
    }

    /// A student's own snapshot: the class state, that student's row (none if it neither joined nor is
    /// on the roster) and the offset both are consistent with. It reads that one record (HGET), not
    /// the class's whole hash, so a student's subscribe costs Redis the same in a class of any size.
    public func studentSnapshot(classId: String, actor: Actor, completion: @escaping (Result<ClassSnapshot, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard actor.role == .student, actor.classId == classId else {
            return completion(.failure(.forbidden("This token is for another class")))
        }
        runClassScript(Self.studentSnapshotScript, classId: classId, args: [actor.id], decode: { Self.decodeSnapshot($0, classId: classId) },
                       completion: completion)
    }

    /// ARGV: sid. Returns what `ReadScripts.snapshot` returns, with at most that student's row.
    static let studentSnapshotScript = RedisScript(LuaPrelude.source + #"""
local sid = ARGV[1]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
local out = { meta.last_id or '0-0', meta.state }
if redis.call('SISMEMBER', KNOWN, sid) == 1 then
  local raw = redis.call('HGET', STUDENTS, sid)
  local rec = {}
  if raw then rec = cjson.decode(raw) end
  out[3], out[4], out[5], out[6] = sid, status_of(rec), rec.at or '', rec.method or ''
  out[7], out[8], out[9], out[10] = rec.by or '', rec.name or '', rec.note or '', int(tonumber(rec.rejoins) or 0)
  out[11], out[12], out[13] = rec.flags or '', rec.device or '', rec.ct or ''
end
return out
"""#)

    /// {last_id, state, then per student: sid, status, at_ms, method, by, name, note, rejoins, flags, device,
    /// client_time_ms}.
    private static func decodeSnapshot(_ value: RedisValue, classId: String) -> ClassSnapshot? {
        guard let items = value.array, items.count >= 2, (items.count - 2) % 11 == 0,
              let offsetText = items[0].text, let offset = EventOffset(offsetText), let state = items[1].text
        else { return nil }
        var students: [StudentRecord] = []
        students.reserveCapacity((items.count - 2) / 11)
        var index = 2
        while index < items.count {
            guard let id = items[index].text, let statusText = items[index + 1].text,
                  let status = AttendanceStatus(rawValue: statusText)
            else { return nil }
            func optional(_ value: RedisValue) -> String? {
                guard let text = value.text, !text.isEmpty else { return nil }
                return text
            }
            students.append(StudentRecord(
                studentId: id, name: optional(items[index + 5]), status: status,
                atMs: optional(items[index + 2]).flatMap { Int64($0) }, method: optional(items[index + 3]),
                by: optional(items[index + 4]), note: optional(items[index + 6]),
                rejoins: Int(items[index + 7].text.flatMap { Int64($0) } ?? 0),
                flags: optional(items[index + 8]).map { $0.split(separator: ",").map(String.init) } ?? [],
                device: optional(items[index + 9]),
                clientTimeMs: optional(items[index + 10]).flatMap { Int64($0) }))
            index += 11
        }
        return ClassSnapshot(classId: classId, offset: offset, isClosed: state != "open", students: students)
    }

    /// The attendance list (`GET …/attendance`): the snapshot's rows.
    public func attendance(classId: String, actor: Actor, completion: @escaping (Result<[StudentRecord], AttendanceError>) -> Void) {
        guard actor.role != .student else { return completion(.failure(.notTeacherOfClass)) }
        snapshot(classId: classId, actor: actor) { completion($0.map(\.students)) }
    }

    /// Events after `since` (exclusive; nil = from the start), at most `limit`. Teachers and admins
    /// get every event; a student of the class gets its own and the class-wide ones.
    public func events(classId: String, since: EventOffset?, limit: Int = ClassStore.defaultEventPage, actor: Actor,
                       completion: @escaping (Result<EventPage, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.failure(.classNotFound)) }
        guard let (owner, only) = readScope(classId: classId, actor: actor) else {
            return completion(.failure(.forbidden("This token is for another class")))
        }
        let count = min(max(limit, 1), Self.maxEventPage)
        let start: String
        switch since {
        case nil:
            start = "-"
        case let offset? where offset.seq == UInt64.max:
            // "(ms-max" has no successor id in Redis' syntax; the next possible id starts the next ms.
            guard offset.ms < UInt64.max else {
                return completion(.success(EventPage(events: [], next: nil, mayHaveMore: false)))
            }
            start = "\(offset.ms + 1)-0"
        case let offset?:
            start = "(" + offset.description
        }
        runClassScript(Self.eventsScript, classId: classId, args: [owner, start, String(count), only], decode: { value -> EventPage? in
            guard let items = value.array, items.count % 2 == 0, let scanned = items[0].text,
                  let scannedCount = items[1].int
            else { return nil }
            var events: [StoredEvent] = []
            events.reserveCapacity(items.count / 2)
            var index = 2
            while index < items.count {
                guard let idText = items[index].text, let offset = EventOffset(idText), let json = items[index + 1].bytes
                else { return nil }
                events.append(StoredEvent(offset: offset, json: json))
                index += 2
            }
            let next = scanned.isEmpty ? nil : EventOffset(scanned)
            // A full scan means more may follow, even when a student's filter returned fewer events.
            return EventPage(events: events, next: next, mayHaveMore: scannedCount == Int64(count))
        }, completion: completion)
    }

    /// The owner and student-filter arguments of the read scripts, or nil when `actor` may not read.
    private func readScope(classId: String, actor: Actor) -> (String, String)? {
        switch actor.role {
        case .admin: ("", "")
        case .teacher: (actor.id, "")
        case .student: actor.classId == classId ? ("", actor.id) : nil
        }
    }
}
