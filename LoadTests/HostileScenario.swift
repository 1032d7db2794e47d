import EventLoop
import JSON

/// `hostile --classes C --students S [--window-s W]`: the classroom scenario, with the attackers of
/// `Attackers` running beside it from the start of the check-ins until the run ends. The result is the
/// classroom's (the well-behaved clients' latencies and errors) plus what happened to each attacker.
final class HostileScenario: Scenario {
    let run: LoadRun
    let classroom: ClassroomScenario
    let attackers: Attackers
    private var attacking = false

    init(run: LoadRun, classes: Int, students: Int, windowMs: UInt64, sizes: HostileSizes) {
        self.run = run
        classroom = ClassroomScenario(run: run, classes: classes, students: students, windowMs: windowMs)
        attackers = Attackers(run: run, sizes: sizes)
        classroom.onCheckinsStart = { [unowned self] in self.startAttacks() }
    }

    func start() { classroom.start() }

    private func startAttacks() {
        guard !attacking, let teacher = classroom.teachers.first else { return }
        attacking = true
        attackers.start(classId: teacher.classId, code: teacher.code)
    }

    func tick(elapsedS: Double) { classroom.tick(elapsedS: elapsedS) }

    func progressLine() -> String {
        guard attacking else { return classroom.progressLine() }
        let cut = attackers.reports.reduce(0) { total, report in
            total + report.sortedOutcomes.filter { $0.0.hasPrefix("closed") || $0.0.hasPrefix("dropped") || $0.0.hasPrefix("http") }.reduce(0) { $0 + $1.1 }
        }
        return classroom.progressLine() + "  attackers cut off \(cut)"
    }

    func result() -> LoadResult {
        var result = classroom.result()
        result.scenario = "hostile"
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        for report in attackers.reports {
            w.key(report.name)
            report.write(&w)
        }
        w.endObject()
        result.extraJSON.append(("attackers", w.bytes))
        for report in attackers.reports {
            let outcomes = report.sortedOutcomes.prefix(6).map { "\($0.0) × \($0.1)" }.joined(separator: ", ")
            result.notes.append("attacker \(report.name): \(report.connections) connections, sent \(report.sent) \(report.unit); \(outcomes.isEmpty ? "no outcome" : outcomes)")
        }
        return result
    }
}

@available(*, unavailable)
extension HostileScenario: Sendable {}

extension LoadResult {
    /// The well-behaved clients' numbers of a run without attackers, as the `baseline` object.
    func baselineJSON() -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("checkins"); if let checkins { w.int(checkins) } else { w.null() }
        w.field("errors", errors)
        w.key("lost_events"); if let lostEvents { w.int(lostEvents) } else { w.null() }
        w.key("ack_latency_ms"); ResultJSON.latency(&w, ackLatency)
        w.key("event_latency_ms"); ResultJSON.latency(&w, eventLatency)
        w.endObject()
        return w.bytes
    }
}
