import API
import ArgumentParser
import Attendance
import Foundation
import Logging

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write every closed session since a date, for a nightly SIS load.",
        discussion: """
            Sessions that started on or after DATE (00:00 UTC) and are closed. `csv` writes one row per \
            student and session; `edfi` a JSON array of Ed-Fi StudentSectionAttendanceEvent documents \
            (mapping: docs/SCHOOL-SYSTEMS.md). Written to --output, else standard output.
            """)

    @Option(help: "The first day, YYYY-MM-DD (UTC).") var since: String
    @Option(help: "csv or edfi.") var format: String = "csv"
    @Option(help: "File to write (default: standard output).") var output: String?
    @OptionGroup var common: CommonOptions

    func run() throws {
        guard let sinceMs = ReportDate.parse(since) else { throw ValidationError("--since must be a date, YYYY-MM-DD") }
        guard format == "csv" || format == "edfi" else { throw ValidationError("--format must be csv or edfi") }
        let settings = try common.settings()
        let logger = common.logger(label: "attendance.export", settings: settings)
        let sessions: [SessionExport]
        switch try runStoreOperation(common, settings: settings, logger: logger, { store, done in
            store.closedSessions(sinceMs: sinceMs, completion: done)
        }) {
        case .success(let result)?: sessions = result
        case .failure(let error)?: throw ValidationError("export failed: \(error.message)")
        case nil: throw ValidationError("export did not finish")
        }
        let bytes = format == "csv" ? SchoolExport.csv(sessions) : SchoolExport.edfi(sessions)
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
                throw ValidationError("cannot write \(output)")
            }
            FileHandle.standardError.write(Data("exported \(sessions.count) session(s) to \(output)\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}
