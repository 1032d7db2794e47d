import Attendance
import HTTP

extension APIHandlers {
    /// The school-system endpoints (docs/SCHOOL-SYSTEMS.md): roster import, reports, webhook failures.
    func registerSchoolRoutes() {
        route("POST", "/v1/rosters:import") { exchange, _ in self.importRoster(exchange) }
    }
}
