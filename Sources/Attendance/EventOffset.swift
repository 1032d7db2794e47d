/// A position in a class's event log: the Redis stream id `"<ms>-<seq>"` of an event.
/// Offsets increase strictly per class; the hub compares them to drop live events it already replayed.
public struct EventOffset: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let ms: UInt64
    public let seq: UInt64

    /// The offset before every event (`since=0-0` replays the whole log).
    public static let zero = EventOffset(ms: 0, seq: 0)

    public init(ms: UInt64, seq: UInt64) {
        self.ms = ms
        self.seq = seq
    }

    /// Parses `"<ms>-<seq>"` or a bare `"<ms>"` (meaning `<ms>-0`, as Redis reads it). Digits only,
    /// at most 20 each, no overflow; anything else is nil.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        let dash = bytes.firstIndex(of: UInt8(ascii: "-"))
        guard let ms = EventOffset.number(bytes[..<(dash ?? bytes.count)]) else { return nil }
        var seq: UInt64 = 0
        if let dash {
            guard let parsed = EventOffset.number(bytes[(dash + 1)...]) else { return nil }
            seq = parsed
        }
        self.init(ms: ms, seq: seq)
    }

    public var description: String { "\(ms)-\(seq)" }

    public static func < (lhs: EventOffset, rhs: EventOffset) -> Bool {
        (lhs.ms, lhs.seq) < (rhs.ms, rhs.seq)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }
}
