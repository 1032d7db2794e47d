/// A student's attendance in one class session (PROTOCOL.md "Statuses").
public enum AttendanceStatus: String, Sendable, CaseIterable {
    /// Nothing has happened yet.
    case unmarked
    case present
    case late
    case absent
    case excused
}
