/// The routing fields at the front of a stored or published event, read without a JSON parser.
///
/// The scripts build every event with a fixed field order (see LuaPrelude), and every routed value
/// is an identifier or an offset (charset `[A-Za-z0-9_.:-]`, never escaped), so the hub can route a
/// pub/sub message — which class, which offset, which student — by scanning its first bytes.
public struct EventHeader: Equatable, Sendable {
    public let classId: String
    public let offset: EventOffset
    /// `joined`, `checked_in`, `status_changed`, `class_closed`.
    public let event: String
    /// The student the event is about; nil for class-wide events (`class_closed`), which every
    /// subscriber of the class receives.
    public let studentId: String?

    private static let start = Array(#"{"type":"event","class_id":""#.utf8)
    private static let offsetField = Array(#"","offset":""#.utf8)
    private static let eventField = Array(#"","event":""#.utf8)
    private static let studentField = Array(#"","student_id":""#.utf8)

    /// Reads the header of `bytes`, or nil when they do not start like an event the scripts write.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> EventHeader? {
        var cursor = 0
        guard expect(start, in: bytes, at: &cursor), let classId = value(in: bytes, at: &cursor),
              expect(offsetField, in: bytes, at: &cursor), let offsetText = value(in: bytes, at: &cursor),
              let offset = EventOffset(offsetText),
              expect(eventField, in: bytes, at: &cursor), let event = value(in: bytes, at: &cursor)
        else { return nil }
        var studentId: String?
        if expect(studentField, in: bytes, at: &cursor) { studentId = value(in: bytes, at: &cursor) }
        return EventHeader(classId: classId, offset: offset, event: event, studentId: studentId)
    }

    public static func parse(_ bytes: [UInt8]) -> EventHeader? {
        bytes.withUnsafeBytes { parse($0) }
    }

    private static func expect(_ literal: [UInt8], in bytes: UnsafeRawBufferPointer, at cursor: inout Int) -> Bool {
        guard bytes.count - cursor >= literal.count else { return false }
        for (index, byte) in literal.enumerated() where bytes[cursor + index] != byte { return false }
        cursor += literal.count
        return true
    }

    /// The characters up to the closing quote, which must all be identifier characters; the cursor
    /// stops on the quote so the next literal (which starts with it) matches.
    private static func value(in bytes: UnsafeRawBufferPointer, at cursor: inout Int) -> String? {
        let begin = cursor
        while cursor < bytes.count, bytes[cursor] != UInt8(ascii: "\"") {
            guard Identifier.isAllowed(bytes[cursor]), cursor - begin < 64 else { return nil }
            cursor += 1
        }
        guard cursor < bytes.count, cursor > begin else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[begin..<cursor]), as: UTF8.self)
    }
}
