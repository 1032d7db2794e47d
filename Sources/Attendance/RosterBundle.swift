/// A OneRoster 1.1 CSV bundle, read and validated whole before anything is written: `orgs.csv`,
/// `academicSessions.csv`, `classes.csv`, `users.csv` and `enrollments.csv` with their standard
/// columns (docs/SCHOOL-SYSTEMS.md lists which are read). Sections (classes.csv rows) become
/// courses; teacher and student users become people; student enrollments become each course's
/// roster. Rows whose `status` is `tobedeleted` or `inactive` count as absent from the bundle.
public struct RosterBundle: Sendable, Equatable {
    public struct Org: Sendable, Equatable {
        public let id: String
        public let name: String
        /// orgs.csv `identifier` (the state or district school number).
        public let identifier: String
    }

    public struct Term: Sendable, Equatable {
        public let id: String
        public let title: String
        public let schoolYear: String
    }

    public struct Person: Sendable, Equatable {
        public let id: String
        /// `teacher` or `student`.
        public let role: String
        public let givenName: String
        public let familyName: String
        public let email: String
        public let username: String
        public let identifier: String
        /// What a school's SSO sign-in names this person by: the e-mail address in lower case,
        /// else the username; "" when there is neither.
        public let ssoId: String
        public var name: String { givenName + " " + familyName }
    }

    public struct Course: Sendable, Equatable {
        public let id: String
        public let title: String
        public let classCode: String
        public let schoolId: String
        public let termIds: [String]
        /// The primary teacher (else the first teacher enrolled); "" when none.
        public var teacherId: String
        public var studentIds: [String]
        public let lateAfterS: Int
        public let durationS: Int
    }

    public var orgs: [String: Org] = [:]
    public var terms: [String: Term] = [:]
    public var people: [Person] = []
    public var courses: [Course] = []
    public var enrollments = 0

    public static let files = ["orgs.csv", "academicSessions.csv", "classes.csv", "users.csv", "enrollments.csv"]
    /// Extension columns of classes.csv (OneRoster allows `metadata.*`): the course's late rule and
    /// session length; the defaults are those of `POST /v1/classes`.
    public static let lateAfterColumn = "metadata.attendance.lateAfterS"
    public static let durationColumn = "metadata.attendance.durationS"

    /// Validates every row of every file; the first problem found is thrown with its file and line.
    /// `files` maps each file name to its bytes.
    public init(files: [String: [UInt8]]) throws(RosterError) {
        for name in Self.files where files[name] == nil {
            throw RosterError(file: name, line: 0, message: "missing from the bundle")
        }
        try readOrgs(try RosterCSV(files["orgs.csv"]!, file: "orgs.csv"))
        try readTerms(try RosterCSV(files["academicSessions.csv"]!, file: "academicSessions.csv"))
        try readClasses(try RosterCSV(files["classes.csv"]!, file: "classes.csv"))
        let roles = try readUsers(try RosterCSV(files["users.csv"]!, file: "users.csv"))
        try readEnrollments(try RosterCSV(files["enrollments.csv"]!, file: "enrollments.csv"), roles: roles)
    }

    // MARK: - Files

    private mutating func readOrgs(_ csv: RosterCSV) throws(RosterError) {
        let file = "orgs.csv"
        let c = try csv.columns(required: ["sourcedId", "status", "name", "type"], optional: ["identifier"], file: file)
        var seen = Set<String>()
        for row in csv.rows {
            let field = Fields(row: row, columns: c, file: file)
            let id = try field.identifier("sourcedId", unique: &seen)
            guard try field.isActive() else { continue }
            let name = try field.text("name", required: true)
            try field.oneOf("type", ["school", "district", "department", "local", "state", "national"])
            orgs[id] = Org(id: id, name: name, identifier: field["identifier"])
        }
    }

    private mutating func readTerms(_ csv: RosterCSV) throws(RosterError) {
        let file = "academicSessions.csv"
        let c = try csv.columns(required: ["sourcedId", "status", "title", "type", "startDate", "endDate", "schoolYear"], file: file)
        var seen = Set<String>()
        for row in csv.rows {
            let field = Fields(row: row, columns: c, file: file)
            let id = try field.identifier("sourcedId", unique: &seen)
            guard try field.isActive() else { continue }
            let title = try field.text("title", required: true)
            try field.oneOf("type", ["term", "gradingPeriod", "schoolYear", "semester"])
            try field.date("startDate", required: true)
            try field.date("endDate", required: true)
            let year = field["schoolYear"]
            guard year.utf8.count == 4, year.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                throw field.error("schoolYear must be a four-digit year, not '\(year.prefix(40))'")
            }
            terms[id] = Term(id: id, title: title, schoolYear: year)
        }
    }

    private mutating func readClasses(_ csv: RosterCSV) throws(RosterError) {
        let file = "classes.csv"
        let c = try csv.columns(required: ["sourcedId", "status", "title", "courseSourcedId", "classCode", "classType",
                                           "schoolSourcedId", "termSourcedIds"],
                                optional: [Self.lateAfterColumn, Self.durationColumn], file: file)
        var seen = Set<String>()
        for row in csv.rows {
            let field = Fields(row: row, columns: c, file: file)
            let id = try field.identifier("sourcedId", unique: &seen)
            guard try field.isActive() else { continue }
            let title = try field.text("title", required: true)
            guard CreateClassRequest.nameLength.contains(title.count),
                  ClassStore.isCleanText(title, maxCharacters: CreateClassRequest.nameLength.upperBound) else {
                throw field.error(ClassStore.cleanTextRule("title", maxCharacters: CreateClassRequest.nameLength.upperBound, minCharacters: 1))
            }
            _ = try field.text("courseSourcedId", required: true)
            try field.oneOf("classType", ["homeroom", "scheduled"])
            let school = field["schoolSourcedId"]
            guard orgs[school] != nil else { throw field.error("schoolSourcedId '\(school.prefix(64))' is not in orgs.csv") }
            let termIds = field["termSourcedIds"].split(separator: ",").map { String($0).trimmingSpaces }
            guard !termIds.isEmpty else { throw field.error("termSourcedIds is required") }
            for term in termIds where terms[term] == nil {
                throw field.error("term '\(term.prefix(64))' is not in academicSessions.csv")
            }
            let late = try field.integer(Self.lateAfterColumn, in: CreateClassRequest.lateAfterRange) ?? 600
            let duration = try field.integer(Self.durationColumn, in: CreateClassRequest.durationRange) ?? 3600
            courses.append(Course(id: id, title: title, classCode: try field.text("classCode", required: false),
                                  schoolId: school, termIds: termIds, teacherId: "", studentIds: [],
                                  lateAfterS: late, durationS: duration))
        }
    }

    /// Returns the role of every active user (people of other roles are validated, not kept).
    private mutating func readUsers(_ csv: RosterCSV) throws(RosterError) -> [String: String] {
        let file = "users.csv"
        let c = try csv.columns(required: ["sourcedId", "status", "enabledUser", "orgSourcedIds", "role", "username",
                                           "givenName", "familyName"],
                                optional: ["email", "identifier"], file: file)
        var seen = Set<String>()
        var ssoOwners: [String: Int] = [:]
        var roles: [String: String] = [:]
        for row in csv.rows {
            let field = Fields(row: row, columns: c, file: file)
            let id = try field.identifier("sourcedId", unique: &seen)
            guard try field.isActive() else { continue }
            try field.oneOf("enabledUser", ["true", "false"])
            let role = try field.oneOf("role", ["administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"])
            for org in field["orgSourcedIds"].split(separator: ",") where orgs[String(org).trimmingSpaces] == nil {
                throw field.error("org '\(org.prefix(64))' is not in orgs.csv")
            }
            let given = try field.name("givenName")
            let family = try field.name("familyName")
            let email = field["email"].lowercasedASCII
            if !email.isEmpty, !email.contains("@") || email.utf8.count > 254 || email.contains(" ") {
                throw field.error("email '\(email.prefix(80))' is not an e-mail address")
            }
            let username = field["username"]
            guard username.utf8.count <= 256 else { throw field.error("username is longer than 256 bytes") }
            roles[id] = role
            guard role == "student" || role == "teacher" else { continue }
            let sso = email.isEmpty ? username : email
            if !sso.isEmpty {
                if let other = ssoOwners[sso] {
                    throw field.error("'\(sso.prefix(80))' names the user of line \(other) too; sign-in could not tell them apart")
                }
                ssoOwners[sso] = row.line
            }
            people.append(Person(id: id, role: role, givenName: given, familyName: family, email: email,
                                 username: username, identifier: field["identifier"], ssoId: sso))
        }
        return roles
    }

    private mutating func readEnrollments(_ csv: RosterCSV, roles: [String: String]) throws(RosterError) {
        let file = "enrollments.csv"
        let c = try csv.columns(required: ["sourcedId", "status", "classSourcedId", "schoolSourcedId", "userSourcedId", "role", "primary"],
                                optional: ["beginDate", "endDate"], file: file)
        var courseIndex: [String: Int] = [:]
        for (index, course) in courses.enumerated() { courseIndex[course.id] = index }
        var seen = Set<String>()
        var firstTeacher: [Int: String] = [:]
        var primaryTeacher: [Int: String] = [:]
        var members = [Set<String>](repeating: [], count: courses.count)
        for row in csv.rows {
            let field = Fields(row: row, columns: c, file: file)
            _ = try field.identifier("sourcedId", unique: &seen)
            guard try field.isActive() else { continue }
            let classId = field["classSourcedId"]
            guard let course = courseIndex[classId] else { throw field.error("classSourcedId '\(classId.prefix(64))' is not an active class in classes.csv") }
            let userId = field["userSourcedId"]
            guard let userRole = roles[userId] else { throw field.error("userSourcedId '\(userId.prefix(64))' is not an active user in users.csv") }
            let role = try field.oneOf("role", ["administrator", "proctor", "student", "teacher", "aide"])
            let primary = try field.oneOf("primary", ["true", "false", ""])
            try field.date("beginDate", required: false)
            try field.date("endDate", required: false)
            switch role {
            case "student":
                guard userRole == "student" else { throw field.error("user '\(userId)' is enrolled as a student but is a \(userRole) in users.csv") }
                guard members[course].insert(userId).inserted else { continue }
                guard members[course].count <= CreateClassRequest.maxRoster else {
                    throw field.error("class '\(classId)' has more than \(CreateClassRequest.maxRoster) students")
                }
                courses[course].studentIds.append(userId)
            case "teacher":
                guard userRole == "teacher" else { throw field.error("user '\(userId)' is enrolled as a teacher but is a \(userRole) in users.csv") }
                if firstTeacher[course] == nil { firstTeacher[course] = userId }
                if primary == "true" {
                    if let other = primaryTeacher[course], other != userId {
                        throw field.error("class '\(classId)' has a second primary teacher ('\(other)' is one)")
                    }
                    primaryTeacher[course] = userId
                }
            default:
                continue
            }
            enrollments += 1
        }
        for index in courses.indices { courses[index].teacherId = primaryTeacher[index] ?? firstTeacher[index] ?? "" }
    }
}

/// One row's fields by column name, with the checks every file shares.
private struct Fields {
    let row: RosterCSV.Row
    let columns: [String: Int]
    let file: String

    subscript(_ name: String) -> String {
        guard let index = columns[name] else { return "" }
        return row.fields[index].trimmingSpaces
    }

    func error(_ message: String) -> RosterError { RosterError(file: file, line: row.line, message: message) }

    func identifier(_ name: String, unique seen: inout Set<String>) throws(RosterError) -> String {
        let id = self[name]
        guard Identifier.isValid(id) else {
            throw error("\(name) '\(id.prefix(80))' must be 1–64 characters of A-Z a-z 0-9 _ . : -")
        }
        guard seen.insert(id).inserted else { throw error("\(name) '\(id)' appears twice") }
        return id
    }

    /// `active` (or blank, as bulk files may leave it) keeps the row; `tobedeleted` and `inactive` drop it.
    func isActive() throws(RosterError) -> Bool {
        try oneOf("status", ["active", "", "tobedeleted", "inactive"]) == "active" || self["status"].isEmpty
    }

    func text(_ name: String, required: Bool) throws(RosterError) -> String {
        let value = self[name]
        if required && value.isEmpty { throw error("\(name) is required") }
        return value
    }

    func name(_ column: String) throws(RosterError) -> String {
        let value = try text(column, required: true)
        guard ClassStore.isCleanText(value, maxCharacters: 100) else {
            throw error(ClassStore.cleanTextRule(column, maxCharacters: 100))
        }
        return value
    }

    @discardableResult
    func oneOf(_ name: String, _ allowed: [String]) throws(RosterError) -> String {
        let value = self[name]
        guard allowed.contains(value) else {
            throw error("\(name) '\(value.prefix(40))' must be one of \(allowed.filter { !$0.isEmpty }.joined(separator: ", "))")
        }
        return value
    }

    func date(_ name: String, required: Bool) throws(RosterError) {
        let value = self[name]
        if value.isEmpty && !required { return }
        guard ReportDate.parse(value) != nil else { throw error("\(name) '\(value.prefix(40))' is not a date (YYYY-MM-DD)") }
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(RosterError) -> Int? {
        let value = self[name]
        if value.isEmpty { return nil }
        guard let number = Int(value), range.contains(number) else { throw error("\(name) must be an integer within \(range)") }
        return number
    }
}

extension String {
    var lowercasedASCII: String {
        String(decoding: utf8.map { (0x41...0x5A).contains($0) ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
