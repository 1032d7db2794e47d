import JSON

/// What a run measured. Fields a scenario does not measure stay nil (null in the JSON).
struct LoadResult {
    var scenario: String
    var clients: Int?
    var checkins: Int?
    var errors: Int
    var lostEvents: Int?
    var duplicateEvents: Int?
    var ack: LatencyRecorder?
    var event: LatencyRecorder?
    var messagesPerS: Double?
    var hubRssKiB: Int?
    var hubRssPerConnBytes: Int?

    // For the report only.
    var ackLabel = "check-in ack"
    var eventLabel = "check-in → dashboard event"
    var parameters: [(String, String)] = []
    var errorKinds: [(String, Int)] = []
    var notes: [String] = []
    var durationS: Double = 0
    var rssSeries: [(elapsedS: Double, kib: Int)] = []
    /// Scenario-specific keys appended after the documented ones (already encoded JSON values).
    var extraJSON: [(key: String, json: [UInt8])] = []

    var ackLatency: LatencySummary? { ack?.summary }
    var eventLatency: LatencySummary? { event?.summary }
}

/// The `--json` object of PROTOCOL.md "Command line", keys in the documented order.
enum ResultJSON {
    static func encode(_ result: LoadResult) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("scenario", result.scenario)
        w.key("clients"); optional(&w, result.clients)
        w.key("checkins"); optional(&w, result.checkins)
        w.field("errors", result.errors)
        w.key("lost_events"); optional(&w, result.lostEvents)
        w.key("duplicate_events"); optional(&w, result.duplicateEvents)
        w.key("ack_latency_ms"); latency(&w, result.ackLatency)
        w.key("event_latency_ms"); latency(&w, result.eventLatency)
        w.key("messages_per_s")
        if let rate = result.messagesPerS { w.double((rate * 10).rounded() / 10) } else { w.null() }
        w.key("hub_rss_kib"); optional(&w, result.hubRssKiB)
        w.key("hub_rss_per_conn_bytes"); optional(&w, result.hubRssPerConnBytes)
        for (key, json) in result.extraJSON {
            w.key(key)
            json.withUnsafeBytes { w.raw($0) }
        }
        w.endObject()
        w.bytes.append(UInt8(ascii: "\n"))
        return w.bytes
    }

    private static func optional(_ w: inout JSONWriter, _ value: Int?) {
        if let value { w.int(value) } else { w.null() }
    }

    /// Milliseconds with microsecond resolution, the histogram's unit.
    static func latency(_ w: inout JSONWriter, _ summary: LatencySummary?) {
        guard let summary else { w.null(); return }
        w.beginObject()
        w.field("p50", summary.p50)
        w.field("p90", summary.p90)
        w.field("p99", summary.p99)
        w.field("p999", summary.p999)
        w.field("max", summary.max)
        w.endObject()
    }
}
