import JSON
import RedisClient

extension Keys {
    /// Closed classes whose after-close work (report index, absence webhooks) is not done yet, by
    /// the time they were registered (global zset; the api's sweep retries stale entries).
    static let afterClose = "att:afterclose"
    /// A student's closed classes by start time: the index `GET /v1/students/{id}/summary` reads.
    /// Hash-tagged by the student, written one command per student (never inside a class script).
    public static func studentClasses(_ studentId: String) -> String { "att:stu:{\(studentId)}:classes" }
}

extension ClassStore {
    /// An entry older than this is retried by the sweep: the process that registered it died, or
    /// Redis failed half-way. Far above one after-close pass (a few round trips).
    public static let afterCloseRetryMs: Int64 = 30_000

    /// Registers a just-closed class for its after-close work and starts it. Sent before the
    /// retention entry on the same connection, which Redis applies in order: the class leaves
    /// `att:closing` only after both, so a crash in between makes the sweep repeat both.
    func registerAfterClose(_ classId: String) {
        redis.send(["ZADD", Keys.afterClose, "NX", String(clock()), classId]) { [logger] result in
            if case .failure(let error) = result {
                logger.warning("could not register class for after-close work", metadata: ["class_id": "\(classId)", "error": "\(error)"])
            }
        }
        onClassClosed?(classId)
    }

    /// The after-close work of one closed class: every known student's report index entry, and —
    /// once per class, when webhook URLs are configured — one absence notification per absent or
    /// late student and URL. Idempotent: the index entries are set members, and the class's meta
    /// field `notified` is written after the jobs are enqueued (a crash in between enqueues them
    /// again: delivery is at least once, receivers de-duplicate by `delivery_id`). Completes with the
    /// number of jobs enqueued.
    public func afterClose(classId: String, webhookURLs: [String], completion: @escaping (Result<Int, AttendanceError>) -> Void) {
        sessionExport(classId: classId, actor: .system) { result in
            switch result {
            case .failure(.notFound):
                // Purged or never created: nothing to do but forget it.
                self.redis.send(["ZREM", Keys.afterClose, classId]) { _ in completion(.success(0)) }
            case .failure(let error):
                completion(.failure(error))
            case .success(let session) where session.closedAtMs == nil:
                completion(.failure(.conflict("Class \(classId) is not closed")))
            case .success(let session):
                self.indexStudents(session) { indexed in
                    if case .failure(let error) = indexed { return completion(.failure(error)) }
                    self.notifyAbsences(session, urls: webhookURLs) { notified in
                        guard case .success(let count) = notified else { return completion(notified) }
                        self.redis.send(["ZREM", Keys.afterClose, classId]) { removed in
                            completion(removed.map { _ in count }.mapError(AttendanceError.init(redis:)))
                        }
                    }
                }
            }
        }
    }

    /// Class ids registered for after-close work more than `olderThanMs` ago (at most 50).
    public func staleAfterClose(olderThanMs: Int64, completion: @escaping (Result<[String], AttendanceError>) -> Void) {
        redis.send(["ZRANGEBYSCORE", Keys.afterClose, "-inf", String(clock() - olderThanMs), "LIMIT", "0", "50"]) { result in
            completion(result.map { $0.array?.compactMap(\.text) ?? [] }.mapError(AttendanceError.init(redis:)))
        }
    }

    private func indexStudents(_ session: SessionExport, completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        guard !session.students.isEmpty else { return completion(.success(())) }
        var pending = session.students.count
        var failure: AttendanceError?
        for student in session.students {
            redis.send(["ZADD", Keys.studentClasses(student.studentId), String(session.startMs), session.classId]) { result in
                if case .failure(let error) = result { failure = failure ?? AttendanceError(redis: error) }
                pending -= 1
                if pending == 0 { completion(failure.map { .failure($0) } ?? .success(())) }
            }
        }
    }

    private func notifyAbsences(_ session: SessionExport, urls: [String], completion: @escaping (Result<Int, AttendanceError>) -> Void) {
        guard !urls.isEmpty else { return completion(.success(0)) }
        redis.send(["HGET", Keys.meta(session.classId), "notified"]) { result in
            switch result {
            case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
            case .success(let value) where value.text == "1": return completion(.success(0))
            case .success: break
            }
            var jobs: [(deliveryId: String, url: String, body: String)] = []
            for student in session.students where student.status == .absent || student.status == .late {
                for (index, url) in urls.enumerated() {
                    let deliveryId = "\(session.classId).\(student.studentId).\(index)"
                    jobs.append((deliveryId, url, Self.absenceBody(session, student, deliveryId: deliveryId)))
                }
            }
            self.enqueueWebhooks(jobs) { enqueued in
                if case .failure(let error) = enqueued { return completion(.failure(error)) }
                self.redis.send(["HSET", Keys.meta(session.classId), "notified", "1"]) { marked in
                    completion(marked.map { _ in jobs.count }.mapError(AttendanceError.init(redis:)))
                }
            }
        }
    }

    /// The notification's JSON body (docs/SCHOOL-SYSTEMS.md, "Absence webhooks").
    static func absenceBody(_ session: SessionExport, _ student: StudentRecord, deliveryId: String) -> String {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("event", student.status == .late ? "attendance.late" : "attendance.absent")
        w.field("delivery_id", deliveryId)
        w.field("student_id", student.studentId)
        w.field("student_name", orNull: student.name)
        w.field("status", student.status.rawValue)
        w.field("at_ms", orNull: student.atMs)
        w.field("class_id", session.classId)
        w.field("class_name", session.name)
        w.field("course_id", orNull: session.course?.id)
        w.field("teacher_id", session.teacherId)
        w.field("class_start_ms", session.startMs)
        w.field("closed_at_ms", orNull: session.closedAtMs)
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
