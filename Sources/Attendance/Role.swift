/// Who an access token speaks for.
public enum Role: String, Sendable, CaseIterable {
    case teacher
    case student
    case admin
}

/// The authenticated caller of a domain operation, taken from a verified access token.
/// ClassStore decides authorization from it, so the hub and the REST sidecar agree.
public struct Actor: Sendable, Equatable {
    public let id: String
    /// The class a student token is bound to (`cls`); nil for teachers and admins.
    public let classId: String?
    // Last, so a hub session can put a small field right after it (ClientSession).
    public let role: Role

    public init(id: String, role: Role, classId: String? = nil) {
        self.id = id
        self.role = role
        self.classId = classId
    }

    public init(claims: AccessClaims) {
        self.init(id: claims.sub, role: claims.role, classId: claims.cls)
    }

    /// The actor the auto-close sweep writes as (shows up as `by` and in the audit trail).
    public static let system = Actor(id: "system", role: .admin)
}
