import Histogram

/// Percentiles of one latency distribution, in milliseconds (the result object's shape).
struct LatencySummary {
    let p50: Double
    let p90: Double
    let p99: Double
    let p999: Double
    let max: Double
    let count: UInt64

    var line: String {
        "p50 \(format(p50, decimals: 2))  p90 \(format(p90, decimals: 2))  p99 \(format(p99, decimals: 2))  "
            + "p99.9 \(format(p999, decimals: 2))  max \(format(max, decimals: 2))  (n=\(count))"
    }
}

/// One second of a latency time series.
struct LatencyPoint {
    let elapsedS: Double
    let p50Ms: Double
    let p99Ms: Double
    let maxMs: Double
    let count: UInt64
}

/// Latencies in microseconds in an HdrHistogram (whole run) plus one per second for the time series
/// and the live p99. Values are measured from when an action was *scheduled*, not when it was sent,
/// so a stalled loop shows up as latency instead of hiding (coordinated omission).
struct LatencyRecorder {
    /// Ten minutes: nothing in a run of at most an hour and a grace period can take longer and still
    /// be called delivered; larger values are clamped to it.
    static let highestMicros: UInt64 = 600_000_000

    private(set) var total = Histogram<UInt64>(highestTrackableValue: highestMicros, numberOfSignificantValueDigits: .three)
    private var second = Histogram<UInt64>(highestTrackableValue: highestMicros, numberOfSignificantValueDigits: .three)
    private(set) var series: [LatencyPoint] = []
    /// p99 of the last complete second that had samples.
    private(set) var recentP99Ms: Double?

    mutating func record(nanoseconds: UInt64) {
        let micros = min(Self.highestMicros, nanoseconds / 1000)
        _ = total.record(micros)
        _ = second.record(micros)
    }

    /// `count` samples of the same latency (a read's replies to pings that went out in one write).
    mutating func record(nanoseconds: UInt64, count: UInt64) {
        let micros = min(Self.highestMicros, nanoseconds / 1000)
        _ = total.record(micros, count: count)
        _ = second.record(micros, count: count)
    }

    /// Closes the current one-second bucket.
    mutating func tick(elapsedS: Double) {
        guard second.totalCount > 0 else { return }
        let p99 = Double(second.valueAtPercentile(99)) / 1000
        series.append(LatencyPoint(elapsedS: elapsedS, p50Ms: Double(second.valueAtPercentile(50)) / 1000,
                                   p99Ms: p99, maxMs: Double(second.max) / 1000, count: second.totalCount))
        recentP99Ms = p99
        second.reset()
    }

    var count: UInt64 { total.totalCount }

    var summary: LatencySummary? {
        guard total.totalCount > 0 else { return nil }
        func ms(_ p: Double) -> Double { Double(total.valueAtPercentile(p)) / 1000 }
        return LatencySummary(p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9),
                              max: Double(total.max) / 1000, count: total.totalCount)
    }

    /// (percentile, milliseconds) pairs for the percentile-distribution plot.
    var distribution: [(percentile: Double, ms: Double)] {
        guard total.totalCount > 0 else { return [] }
        var points: [(Double, Double)] = []
        for step in total.percentiles(ticksPerHalfDistance: 5) {
            points.append((step.percentileLevelIteratedTo, Double(step.value) / 1000))
            if step.percentileLevelIteratedTo >= 100 { break }
        }
        return points
    }

    /// A live p99 for the progress line: the last second's, or the run's so far.
    var liveP99: String {
        if let recentP99Ms { return format(recentP99Ms, decimals: 1) + " ms" }
        return "-"
    }
}
