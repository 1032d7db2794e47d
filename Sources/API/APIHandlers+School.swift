import Attendance
import HTTP

extension APIHandlers {
    /// The school-system endpoints (docs/SCHOOL-SYSTEMS.md): roster import, reports, webhook failures.
    func registerSchoolRoutes() {
        route("POST", "/v1/rosters:import") { exchange, _ in self.importRoster(exchange) }
        route("GET", "/v1/webhooks/failures") { exchange, _ in self.webhookFailures(exchange) }
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
