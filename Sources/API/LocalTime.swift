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

    /// The civil date (proleptic Gregorian) and the seconds into that day, after Howard Hinnant's
    /// `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html).
    private static func civil(ms: Int64, offsetMin: Int) -> (date: String, seconds: Int) {
        let local = ms.dividedRoundingDown(by: 1000) + Int64(offsetMin) * 60
        let days = local.dividedRoundingDown(by: 86_400)
        let seconds = Int(local - days * 86_400)
        let z = days + 719_468
        let era = z.dividedRoundingDown(by: 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (four(year) + "-" + two(Int(month)) + "-" + two(Int(day)), seconds)
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    private static func four(_ n: Int64) -> String {
        let text = String(abs(n))
        return (n < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - text.count)) + text
    }
}

private extension Int64 {
    func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
