import EventLoop
import Synchronization

/// One worker's counters. Each worker writes only its own instance (no cache line shared between
/// cores on the hot path); `/metrics` sums every worker's with relaxed atomic loads.
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
    let replayPauses = Atomic<Int>(0)
    let replayRetries = Atomic<Int>(0)
    let heldOverflows = Atomic<Int>(0)
    let rateLimited = Atomic<Int>(0)
    let rateLimitCloses = Atomic<Int>(0)
    /// Time to hand one loop turn's batched events to every subscriber's socket.
    let fanoutLatency = AtomicHistogram(boundsMicros: [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000])
    /// Time from the event's write in Redis (its `at_ms`) to fan-out: the end-to-end age at delivery.
    let eventAge = AtomicHistogram(boundsMicros: [1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000])

    public init() {}

    /// Prometheus text for the sum of `workers`.
    public static func prometheusText(_ workers: [HubMetrics]) -> String {
        var out = ""
        func counter(_ name: String, _ help: String, _ value: (HubMetrics) -> Int, type: String = "counter") {
            let total = workers.reduce(0) { $0 + value($1) }
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(total)\n"
        }
        counter("attendance_hub_connections", "WebSocket connections open now.", { $0.connectionsOpen.load(ordering: .relaxed) }, type: "gauge")
        counter("attendance_hub_connections_total", "WebSocket connections accepted.", { $0.connectionsTotal.load(ordering: .relaxed) })
        counter("attendance_hub_messages_in_total", "WebSocket messages received from clients.", { $0.messagesIn.load(ordering: .relaxed) })
        counter("attendance_hub_messages_out_total", "WebSocket messages sent to clients.", { $0.messagesOut.load(ordering: .relaxed) })
        counter("attendance_hub_events_received_total", "Class events received from Redis pub/sub or replay.", { $0.eventsReceived.load(ordering: .relaxed) })
        counter("attendance_hub_rooms", "Classes with at least one local subscriber (summed over workers).", { $0.rooms.load(ordering: .relaxed) }, type: "gauge")
        counter("attendance_hub_send_queue_drops_total", "Connections closed with 1013 because their send queue passed the limit.", { $0.slowConsumerCloses.load(ordering: .relaxed) })
        counter("attendance_hub_redis_reconnects_total", "Redis connections re-established after a loss.", { $0.redisReconnects.load(ordering: .relaxed) })
        counter("attendance_hub_replay_pauses_total", "Replays paused until a slow reader drained its send queue.", { $0.replayPauses.load(ordering: .relaxed) })
        counter("attendance_hub_replay_retries_total", "Room replays after a Redis reconnect that failed and were retried.", { $0.replayRetries.load(ordering: .relaxed) })
        counter("attendance_hub_held_overflows_total", "Held live events dropped at the bound and read again from the stream.", { $0.heldOverflows.load(ordering: .relaxed) })
        counter("attendance_hub_auth_failures_total", "WebSocket connections refused for a bad access token.", { $0.authFailures.load(ordering: .relaxed) })
        counter("attendance_hub_checkins_total", "Check-ins acknowledged over WebSocket.", { $0.checkins.load(ordering: .relaxed) })
        counter("attendance_hub_rate_limited_total", "Client messages refused with rate_limited (over the per-connection budget).", { $0.rateLimited.load(ordering: .relaxed) })
        counter("attendance_hub_rate_limit_closes_total", "Connections closed with 1008 for staying over their budget.", { $0.rateLimitCloses.load(ordering: .relaxed) })
        out += AtomicHistogram.prometheusText(workers.map(\.fanoutLatency), name: "attendance_hub_fanout_latency_seconds", help: "Writing one loop turn's batched events to every subscriber.")
        out += AtomicHistogram.prometheusText(workers.map(\.eventAge), name: "attendance_hub_event_age_seconds", help: "Event write in Redis (its stream id time) to hub fan-out.")
        return out
    }
}

extension HubMetrics {
    /// The process-wide connection limiter's counters (it is shared by every worker, not summed).
    static func prometheusText(_ limiter: ConnectionLimiter?) -> String {
        guard let limiter else { return "" }
        return "# HELP attendance_hub_connections_refused_total Connections answered 503 (or closed) beyond a connection cap.\n"
            + "# TYPE attendance_hub_connections_refused_total counter\nattendance_hub_connections_refused_total \(limiter.refusedConnections)\n"
    }
}

/// A fixed-bucket latency histogram with atomic buckets (microsecond bounds).
final class AtomicHistogram: Sendable {
    let bounds: [Int]
    let buckets: [Counter]
    let sumMicros = Atomic<Int>(0)
    let count = Atomic<Int>(0)

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

    static func prometheusText(_ parts: [AtomicHistogram], name: String, help: String) -> String {
        guard let bounds = parts.first?.bounds else { return "" }
        var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for i in 0...bounds.count {
            cumulative += parts.reduce(0) { $0 + $1.buckets[i].value.load(ordering: .relaxed) }
            let le = i < bounds.count ? "\(Double(bounds[i]) / 1_000_000)" : "+Inf"
            out += "\(name)_bucket{le=\"\(le)\"} \(cumulative)\n"
        }
        let sum = parts.reduce(0) { $0 + $1.sumMicros.load(ordering: .relaxed) }
        out += "\(name)_sum \(Double(sum) / 1_000_000)\n"
        out += "\(name)_count \(parts.reduce(0) { $0 + $1.count.load(ordering: .relaxed) })\n"
        return out
    }
}

/// An atomic counter that can live in an array (Atomic itself is not copyable).
final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
