import Synchronization

/// Counters shared by every worker of a hub process (atomics, so workers never lock each other),
/// written out in Prometheus text format by `/metrics`.
public final class HubMetrics: Sendable {
    let connectionsOpen = Atomic<Int>(0)
    let connectionsTotal = Atomic<Int>(0)
    let messagesIn = Atomic<Int>(0)
    let messagesOut = Atomic<Int>(0)
    let eventsReceived = Atomic<Int>(0)
    let slowConsumerCloses = Atomic<Int>(0)
    let redisReconnects = Atomic<Int>(0)
    let authFailures = Atomic<Int>(0)
    let checkins = Atomic<Int>(0)
    let rooms = Atomic<Int>(0)
    /// Time from a pub/sub message's arrival to the last subscriber write handed to the kernel.
    let fanoutLatency = AtomicHistogram(boundsMicros: [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000])
    /// Time from the event's write in Redis (its `at_ms`) to fan-out: the end-to-end age at delivery.
    let eventAge = AtomicHistogram(boundsMicros: [1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000])

    public init() {}

    public func prometheusText() -> String {
        var out = ""
        func counter(_ name: String, _ help: String, _ value: Int, type: String = "counter") {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        counter("attendance_hub_connections", "WebSocket connections open now.", connectionsOpen.load(ordering: .relaxed), type: "gauge")
        counter("attendance_hub_connections_total", "WebSocket connections accepted.", connectionsTotal.load(ordering: .relaxed))
        counter("attendance_hub_messages_in_total", "WebSocket messages received from clients.", messagesIn.load(ordering: .relaxed))
        counter("attendance_hub_messages_out_total", "WebSocket messages sent to clients.", messagesOut.load(ordering: .relaxed))
        counter("attendance_hub_events_received_total", "Class events received from Redis pub/sub or replay.", eventsReceived.load(ordering: .relaxed))
        counter("attendance_hub_rooms", "Classes with at least one local subscriber.", rooms.load(ordering: .relaxed), type: "gauge")
        counter("attendance_hub_send_queue_drops_total", "Connections closed with 1013 because their send queue passed the limit.", slowConsumerCloses.load(ordering: .relaxed))
        counter("attendance_hub_redis_reconnects_total", "Redis connections re-established after a loss.", redisReconnects.load(ordering: .relaxed))
        counter("attendance_hub_auth_failures_total", "WebSocket connections refused for a bad access token.", authFailures.load(ordering: .relaxed))
        counter("attendance_hub_checkins_total", "Check-ins acknowledged over WebSocket.", checkins.load(ordering: .relaxed))
        out += fanoutLatency.prometheusText(name: "attendance_hub_fanout_latency_seconds", help: "Pub/sub arrival to last subscriber write.")
        out += eventAge.prometheusText(name: "attendance_hub_event_age_seconds", help: "Event write in Redis to hub fan-out.")
        return out
    }
}

/// A fixed-bucket latency histogram with atomic buckets (microsecond bounds).
final class AtomicHistogram: Sendable {
    let bounds: [Int]
    private let buckets: [Counter]
    private let sumMicros = Atomic<Int>(0)
    private let count = Atomic<Int>(0)

    init(boundsMicros: [Int]) {
        bounds = boundsMicros
        buckets = (0...boundsMicros.count).map { _ in Counter() }
    }

    func record(micros: Int) {
        var i = 0
        while i < bounds.count && micros > bounds[i] { i += 1 }
        buckets[i].value.add(1, ordering: .relaxed)
        sumMicros.add(max(micros, 0), ordering: .relaxed)
        count.add(1, ordering: .relaxed)
    }

    func prometheusText(name: String, help: String) -> String {
        var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (i, bound) in bounds.enumerated() {
            cumulative += buckets[i].value.load(ordering: .relaxed)
            out += "\(name)_bucket{le=\"\(Double(bound) / 1_000_000)\"} \(cumulative)\n"
        }
        cumulative += buckets[bounds.count].value.load(ordering: .relaxed)
        out += "\(name)_bucket{le=\"+Inf\"} \(cumulative)\n"
        out += "\(name)_sum \(Double(sumMicros.load(ordering: .relaxed)) / 1_000_000)\n"
        out += "\(name)_count \(count.load(ordering: .relaxed))\n"
        return out
    }
}

/// An atomic counter that can live in an array (Atomic itself is not copyable).
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
