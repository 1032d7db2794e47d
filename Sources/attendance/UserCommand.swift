import ArgumentParser
import Attendance
import Logging

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage local teacher and admin accounts (stored in Redis).",
        subcommands: [AddUser.self, DisableUser.self])

    struct AddUser: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Create an account; the password is read as one line from stdin.",
            discussion: "Example: printf '%s\\n' \"$PASSWORD\" | attendance user add --id ada --role teacher --name 'Ada Lovelace'")

        @Option(help: "The account id, the `sub` of its access tokens (1-64 of A-Z a-z 0-9 _ . : -).") var id: String
        @Option(help: "teacher or admin.") var role: String
        @Option(help: "The name shown to the user.") var name: String
        @OptionGroup var common: CommonOptions

        func run() throws {
            guard Identifier.isValid(id) else { throw ValidationError("--id must be 1-64 characters of [A-Za-z0-9_.:-]") }
            guard let role = Role(rawValue: role), role != .student else { throw ValidationError("--role must be teacher or admin") }
            guard let password = readLine(strippingNewline: true) else { throw ValidationError("no password on stdin") }
            guard password.count >= PasswordHash.minLength, password.utf8.count <= PasswordHash.maxLength else {
                throw ValidationError("the password must be \(PasswordHash.minLength) to \(PasswordHash.maxLength) characters")
            }
            let hash = PasswordHash.make(password)
            try withStore(common) { store, done in
                store.addUser(id: id, role: role, name: name, passwordHash: hash, completion: done)
            }
            print("added \(role.rawValue) \(id)")
        }
    }

    struct DisableUser: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable", abstract: "Disable an account: its logins and session refreshes fail from now on.")

        @Argument(help: "The account id.") var id: String
        @OptionGroup var common: CommonOptions

        func run() throws {
            guard Identifier.isValid(id) else { throw ValidationError("the id must be 1-64 characters of [A-Za-z0-9_.:-]") }
            try withStore(common) { store, done in store.disableUser(id: id, completion: done) }
            print("disabled \(id); access tokens it already holds expire within 15 minutes")
        }
    }
}

/// Runs one account operation against Redis and turns its failure into the command's error.
func withStore(_ common: CommonOptions, _ operation: @escaping (ClassStore, @escaping (Result<Void, AttendanceError>) -> Void) -> Void) throws {
    let settings = try common.settings()
    let logger = common.logger(label: "attendance.user", settings: settings)
    switch try runStoreOperation(common, settings: settings, logger: logger, operation) {
    case .success?: return
    case .failure(let error)?: throw ValidationError(error.message)
    case nil: throw ValidationError("the command did not finish")
    }
}
