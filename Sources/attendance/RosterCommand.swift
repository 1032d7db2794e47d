import ArgumentParser
import Attendance
import Foundation
import Logging

struct RosterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roster", abstract: "Import school rosters (OneRoster 1.1 CSV).", subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import", abstract: "Import a OneRoster 1.1 CSV bundle from a directory.",
            discussion: """
                Reads orgs.csv, academicSessions.csv, classes.csv, users.csv and enrollments.csv from DIR, \
                validates every row and writes nothing if one is bad (the error names file and line). \
                Importing the same bundle again changes nothing; a newer bundle applies its changes. \
                See docs/SCHOOL-SYSTEMS.md.
                """)

        @Argument(help: "The directory holding the bundle's CSV files.") var directory: String
        @OptionGroup var common: CommonOptions

        /// A district's largest file (users.csv) is a few MiB; the bound keeps a wrong path from
        /// reading a huge file into memory.
        static let maxFileBytes = 64 << 20

        func run() throws {
            var files: [String: [UInt8]] = [:]
            for name in RosterBundle.files {
                let path = (directory as NSString).appendingPathComponent(name)
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
                    throw ValidationError("\(path): not found (a bundle needs \(RosterBundle.files.joined(separator: ", ")))")
                }
                guard (attributes[.size] as? Int ?? 0) <= Self.maxFileBytes else {
                    throw ValidationError("\(path): larger than \(Self.maxFileBytes >> 20) MiB")
                }
                guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot be read") }
                files[name] = Array(data)
            }
            let bundle: RosterBundle
            do { bundle = try RosterBundle(files: files) } catch { throw ValidationError("\(error.description); nothing was imported") }
            let settings = try common.settings()
            let logger = common.logger(label: "attendance.roster", settings: settings)
            switch try runStoreOperation(common, settings: settings, logger: logger, { store, done in store.importRoster(bundle, completion: done) }) {
            case .success(let s)?:
                print("imported \(s.courses) course(s), \(s.teachers) teacher(s), \(s.students) student(s), \(s.enrollments) enrollment(s)"
                      + " from \(s.orgs) org(s) and \(s.terms) term(s); \(s.coursesDeactivated) course(s) no longer listed")
            case .failure(let error)?:
                throw ValidationError("import failed: \(error.message) (importing the bundle again completes it)")
            case nil:
                throw ValidationError("import did not finish (importing the bundle again completes it)")
            }
        }
    }
}
