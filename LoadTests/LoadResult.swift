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
    /// Check-ins acknowledged, and those of them the final attendance export lacks.
    var acked: Int?
    var lostAcked: Int?
    /// Attempts retried and connections reopened (--retry / --chaos), and what each fault did.
    var retries: Int?
    var reconnects: Int?
    var faults: [FaultRecord]?

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
        w.key("acked"); optional(&w, result.acked)
        w.key("lost_acked"); optional(&w, result.lostAcked)
        w.key("retries"); optional(&w, result.retries)
        w.key("reconnects"); optional(&w, result.reconnects)
        w.key("faults")
        if let faults = result.faults {
            w.beginArray()
            for record in faults { fault(&w, record) }
            w.endArray()
        } else {
            w.null()
        }
        for (key, json) in result.extraJSON {
            w.key(key)
            json.withUnsafeBytes { w.raw($0) }
        }
        w.endObject()
        w.bytes.append(UInt8(ascii: "\n"))
        return w.bytes
    }

    /// One fault: what, when (s after check-ins began), the process, failed attempts, the outage
    /// (injection → last failed answer), the slowest failed answer, recovery (restart/continue →
    /// first success of an attempt sent after it) and reconnects.
    private static func fault(_ w: inout JSONWriter, _ record: FaultRecord) {
        w.beginObject()
        w.field("fault", record.fault.label)
        w.field("at_s", Double(record.fault.atMs) / 1000)
        w.field("down_s", Double(record.fault.downMs) / 1000)
        w.field("pid", Int(record.pid))
        w.field("failed", record.failed)
        w.key("outage_ms"); optional(&w, record.outageMs)
        w.field("slowest_failure_ms", Int(record.slowestFailureNs / 1_000_000))
        w.key("recover_ms"); optional(&w, record.recoverMs)
        w.field("reconnects", record.reconnects)
        w.key("note")
        if let note = record.note { w.string(note) } else { w.null() }
        w.endObject()
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
