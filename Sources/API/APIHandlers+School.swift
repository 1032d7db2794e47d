import Attendance
import HTTP

extension APIHandlers {
    /// The school-system endpoints (docs/SCHOOL-SYSTEMS.md): roster import, reports, webhook failures.
    func registerSchoolRoutes() {
        route("POST", "/v1/rosters:import") { exchange, _ in self.importRoster(exchange) }
        route("GET", "/v1/webhooks/failures") { exchange, _ in self.webhookFailures(exchange) }
        route("GET", "/v1/students/{id}/summary") { self.studentSummary($0, studentId: $1["id"] ?? "") }
        route("GET", "/v1/reports/chronic-absence") { exchange, _ in self.chronicAbsence(exchange) }
    }

    /// `from` and `to` (inclusive) as dates → [fromMs, toMs); nil after answering 400. Without
    /// `required`, a missing bound is open.
    func reportRange(_ exchange: Exchange, required: Bool) -> (fromMs: Int64, toMs: Int64, from: String?, to: String?)? {
        let from = exchange.request.query("from"), to = exchange.request.query("to")
        if required && (from == nil || to == nil) {
            exchange.fail(.badRequest("from and to are required, as YYYY-MM-DD"))
            return nil
        }
        var fromMs: Int64 = 0, toMs: Int64 = Int64.max / 2
        if let from {
            guard let ms = ReportDate.parse(from) else { exchange.fail(.badRequest("from must be a date, YYYY-MM-DD")); return nil }
            fromMs = ms
        }
        if let to {
            guard let ms = ReportDate.parse(to) else { exchange.fail(.badRequest("to must be a date, YYYY-MM-DD")); return nil }
            toMs = ms + 86_400_000
        }
        guard fromMs < toMs else { exchange.fail(.badRequest("to must not be before from")); return nil }
        if required && toMs - fromMs > ClassStore.maxReportDays * 86_400_000 {
            exchange.fail(.badRequest("a report covers at most \(ClassStore.maxReportDays) days"))
            return nil
        }
        return (fromMs, toMs, from, to)
    }

    /// `GET /v1/students/{id}/summary[?from=&to=]` (admin; a teacher of the student's classes; the student).
    func studentSummary(_ exchange: Exchange, studentId: String) {
        guard let actor = authenticate(exchange), let range = reportRange(exchange, required: false) else { return }
        store.studentSummary(studentId: studentId, fromMs: range.fromMs, toMs: range.toMs, actor: actor) { result in
            let pattern: AttendancePattern, classIds: [String]
            switch result {
            case .failure(let error): return exchange.fail(APIError(error))
            case .success(let value): (pattern, classIds) = value
            }
            self.store.addNames([pattern]) { named in
                self.reply(exchange, named) { patterns in
                    ResponseEncoding.summary(patterns.first ?? pattern, from: range.from, to: range.to, classIds: classIds)
                }
            }
        }
    }

    /// `GET /v1/reports/chronic-absence?from=&to=[&format=csv]` (admin; a teacher over their own classes).
    func chronicAbsence(_ exchange: Exchange) {
        guard let actor = authenticate(exchange), let format = format(exchange, allowed: ["json", "csv"]),
              let range = reportRange(exchange, required: true) else { return }
        store.chronicAbsence(fromMs: range.fromMs, toMs: range.toMs, actor: actor) { result in
            let sessions: Int, patterns: [AttendancePattern]
            switch result {
            case .failure(let error): return exchange.fail(APIError(error))
            case .success(let value): (sessions, patterns) = value
            }
            self.store.addNames(patterns) { named in
                guard format == "csv", case .success(let rows) = named else {
                    return self.reply(exchange, named) {
                        ResponseEncoding.chronicAbsence($0, sessions: sessions, from: range.from ?? "", to: range.to ?? "")
                    }
                }
                exchange.send(HTTPResponse(status: 200, headers: [
                    "Content-Type": "text/csv; charset=utf-8; header=present",
                    "Content-Disposition": #"attachment; filename="chronic-absence-\#(range.from ?? "")-\#(range.to ?? "").csv""#,
                    "Cache-Control": "no-store",
                ], body: ResponseEncoding.chronicAbsenceCSV(rows)))
            }
        }
    }

    /// `GET /v1/webhooks/failures[?limit=N]` (admin): notifications given up after the retry window,
    /// newest first; the latest 1000 are kept.
    func webhookFailures(_ exchange: Exchange) {
        guard let actor = authenticate(exchange) else { return }
        guard actor.role == .admin else { return exchange.fail(.forbidden("Only an admin may do this")) }
        var limit = 100
        if let text = exchange.request.query("limit") {
            guard let value = Int(text), (1...WebhookQueue.maxFailures).contains(value) else {
                return exchange.fail(.badRequest("limit must be an integer within 1...\(WebhookQueue.maxFailures)"))
            }
            limit = value
        }
        store.webhookFailures(limit: limit) { result in
            self.reply(exchange, result) { entries in
                // Each entry is a JSON object the api itself wrote (WebhookQueue.failWebhook).
                var out = Array(#"{"failures":["#.utf8)
                for (index, entry) in entries.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    out += entry
                }
                out += Array("]}".utf8)
                return out
            }
        }
    }
}
