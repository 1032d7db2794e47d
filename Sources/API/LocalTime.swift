import Attendance

/// ISO 8601 times at a fixed UTC offset, for exports people read (`2026-12-01T09:05:12+01:00`).
/// The offset is the reader's, sent by the page that asks for the export; the api's own time zone
/// means nothing to a teacher in another one.
enum LocalTime {
    /// Offsets that exist on Earth, in minutes east of UTC (UTC−14:00 … UTC+14:00).
    static let offsets = -840...840

    static func iso8601(ms: Int64, offsetMin: Int) -> String {
        let (date, seconds) = civil(ms: ms, offsetMin: offsetMin)
        let sign = offsetMin < 0 ? "-" : "+"
        let zone = offsetMin == 0 ? "Z" : sign + two(abs(offsetMin) / 60) + ":" + two(abs(offsetMin) % 60)
        return date + "T" + two(seconds / 3600) + ":" + two(seconds / 60 % 60) + ":" + two(seconds % 60) + zone
    }

    /// `YYYY-MM-DD` of the moment at the offset.
    static func date(ms: Int64, offsetMin: Int) -> String { civil(ms: ms, offsetMin: offsetMin).date }

    /// The civil date at the offset (`ReportDate`'s calendar arithmetic) and the seconds into that day.
    private static func civil(ms: Int64, offsetMin: Int) -> (date: String, seconds: Int) {
        let local = ms + Int64(offsetMin) * 60_000
        let dayMs: Int64 = 86_400_000
        let intoDay = (local % dayMs + dayMs) % dayMs
        return (ReportDate.date(local), Int(intoDay / 1000))
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
