import ArgumentParser
import Attendance
import EventLoop
import Foundation
import Logging

struct PurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Delete classes closed longer ago than the retention period (each keeps an audit tombstone).",
        discussion: """
            Walks every class in Redis, so it also finds classes the api's retention sweep does not \
            know. Open classes are never touched. Safe while apis run and sweep.
            """)

    @Option(help: "Age since closing, e.g. 400d, 36h, 90m, 30s (default: retention_days, env ATTENDANCE_RETENTION_DAYS, config `retention_days`; 400).")
    var olderThan: String?

    @OptionGroup var common: CommonOptions

    func run() throws {
        let settings = try common.settings()
        let logger = common.logger(label: "attendance.purge", settings: settings)
        let ageMs: Int64
        if let olderThan {
            guard let parsed = Self.parseAge(olderThan) else {
                throw ValidationError("--older-than must be a number with a unit: d, h, m or s (e.g. 400d)")
            }
            ageMs = parsed
        } else {
            ageMs = Int64(try retentionDays(settings, flag: nil)) * 86_400_000
        }
        let cutoff = EventLoop.wallClockMs() - ageMs

        let outcome = try runStoreOperation(common, settings: settings, logger: logger) { store, done in
            store.purgeAllClasses(closedBeforeMs: cutoff, address: "purge command", completion: done)
        }
        switch outcome {
        case .success(let summary):
            let date = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(cutoff) / 1000))
            print("purged \(summary.purged) class(es) closed before \(date); kept \(summary.retained) closed since, \(summary.open) open")
        case .failure(let error):
            throw ValidationError("purge failed: \(error.message) (after a partial run, run it again)")
        case nil:
            throw ValidationError("purge did not finish")
        }
    }

    /// `400d`, `36h`, `90m`, `30s` in milliseconds; nil for anything else.
    static func parseAge(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000]
        guard let unit = text.last.flatMap({ units[$0] }), let count = Int64(text.dropLast()),
              (0...3_650_000).contains(count)
        else { return nil }
        return count * unit
    }
}

/// `retention_days`: flag, env ATTENDANCE_RETENTION_DAYS, config `retention_days`, default 400 (a
/// school year plus time for appeals). Shared by the api's sweep and `attendance purge`.
func retentionDays(_ settings: Settings, flag: Int?) throws -> Int {
    guard let days = settings.integer(flag: flag, env: "ATTENDANCE_RETENTION_DAYS", key: "retention_days", default: 400),
          (1...36_500).contains(days)
    else { throw ValidationError("retention_days must be 1–36500") }
    return days
}
