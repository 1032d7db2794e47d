import EventLoop

/// The end of a classroom run: every acknowledged check-in must be in the record. Reads each class's
/// attendance export (GET /v1/classes/{id}/attendance, the JSON form of the teacher's CSV) and counts
/// acked students it does not show as present or late. An export refused during an outage is asked
/// again until `deadlineNs`.
extension ClassroomScenario {
    func audit(deadlineNs: UInt64, _ done: @escaping (Int?) -> Void) {
        var remaining = teachers.count
        var lost = 0
        var unreadable = 0
        guard remaining > 0 else { return done(0) }
        for teacher in teachers {
            exportPresent(teacher, deadlineNs: deadlineNs, attempt: 0) { [unowned self] present in
                if let present {
                    lost += self.students.filter { $0.teacher === teacher && $0.acked && !present.contains($0.studentId) }.count
                } else {
                    unreadable += 1
                }
                remaining -= 1
                if remaining == 0 { done(unreadable == 0 ? lost : nil) }
            }
        }
    }

    /// The ids the export shows as present or late; nil if it could not be read before the deadline.
    private func exportPresent(_ teacher: ClassroomTeacher, deadlineNs: UInt64, attempt: Int,
                               _ done: @escaping (Set<String>?) -> Void) {
        // An api that lost Redis may never answer: an unanswered export counts as refused.
        var answered = false
        let retry = { [unowned self] (why: String) in
            guard EventLoop.monotonicNs() < deadlineNs else {
                self.run.errors.add("attendance export: \(why)")
                return done(nil)
            }
            self.retries.after(ms: self.retries.backoffMs(attempt: attempt)) {
                self.exportPresent(teacher, deadlineNs: deadlineNs, attempt: attempt + 1, done)
            }
        }
        retries.after(ms: ClassroomStudent.attemptTimeoutMs) {
            guard !answered else { return }
            answered = true
            retry("no answer")
        }
        api.get("/v1/classes/\(teacher.classId)/attendance", token: teacher.token) { response in
            guard !answered else { return }
            answered = true
            if let response, response.isSuccess, let rows = response.body?["students"]?.array {
                var present = Set<String>()
                for row in rows {
                    guard let id = row["student_id"]?.string, let status = row["status"]?.string else { continue }
                    if status == "present" || status == "late" { present.insert(id) }
                }
                return done(present)
            }
            retry(response?.errorKind ?? "no response")
        }
    }
}
