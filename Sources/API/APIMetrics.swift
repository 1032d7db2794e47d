/// Counters of one API process, written out in Prometheus text format by `/metrics`. The API runs
/// one loop, so plain integers suffice: every update and every read happens on that loop.
final class APIMetrics {
    /// Responses by status class: index 0 counts 1xx, … index 4 counts 5xx.
    private var responsesByClass = [Int](repeating: 0, count: 5)
    /// Requests dispatched to a handler and not yet answered.
    var inFlight = 0
    /// Requests refused with 429 by the join and check-in rate limits.
    var rateLimited = 0
    /// Classes closed by the auto-close sweep.
    var classesSwept = 0
    /// Classes purged by the retention sweep.
    var classesPurged = 0
    /// School-account sign-ins that ended with an `sso_error`.
    var signInFailures = 0
    /// Webhook requests answered 2xx, attempts that failed and were scheduled again, and
    /// notifications given up after the retry window.
    var webhooksDelivered = 0
    var webhooksRetried = 0
    var webhooksFailed = 0
    /// Upper bounds of the latency buckets in microseconds: a Redis round trip on loopback is
    /// ~50 µs, a script a few hundred, so the interesting range is 100 µs to a second.
    static let latencyBoundsMicros = [100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000]
    private var latencyBuckets = [Int](repeating: 0, count: latencyBoundsMicros.count + 1)
    private var latencySumMicros = 0
    private var latencyCount = 0

    func record(status: Int, latencyNs: UInt64) {
        let statusClass = min(max(status / 100, 1), 5) - 1
        responsesByClass[statusClass] += 1
        let micros = Int(min(latencyNs / 1_000, UInt64(Int.max)))
        var bucket = 0
        while bucket < Self.latencyBoundsMicros.count && micros > Self.latencyBoundsMicros[bucket] { bucket += 1 }
        latencyBuckets[bucket] += 1
        latencySumMicros &+= micros
        latencyCount += 1
    }

    func prometheusText(redisReconnects: Int, redisConnected: Bool) -> String {
        var out = "# HELP attendance_api_requests_total HTTP responses by status class.\n"
        out += "# TYPE attendance_api_requests_total counter\n"
        for (index, count) in responsesByClass.enumerated() {
            out += "attendance_api_requests_total{code=\"\(index + 1)xx\"} \(count)\n"
        }
        out += "# HELP attendance_api_request_duration_seconds Time from dispatch to response.\n"
        out += "# TYPE attendance_api_request_duration_seconds histogram\n"
        var cumulative = 0
        for (index, bound) in Self.latencyBoundsMicros.enumerated() {
            cumulative += latencyBuckets[index]
            out += "attendance_api_request_duration_seconds_bucket{le=\"\(Double(bound) / 1_000_000)\"} \(cumulative)\n"
        }
        cumulative += latencyBuckets[Self.latencyBoundsMicros.count]
        out += "attendance_api_request_duration_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        out += "attendance_api_request_duration_seconds_sum \(Double(latencySumMicros) / 1_000_000)\n"
        out += "attendance_api_request_duration_seconds_count \(latencyCount)\n"
        func single(_ name: String, _ help: String, _ type: String, _ value: Int) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        single("attendance_api_requests_in_flight", "Requests being handled now.", "gauge", inFlight)
        single("attendance_api_rate_limited_total", "Requests refused with 429 by a rate limit.", "counter", rateLimited)
        single("attendance_api_classes_swept_total", "Classes closed automatically at the end of their duration.", "counter", classesSwept)
        single("attendance_api_classes_purged_total", "Closed classes purged after the retention period.", "counter", classesPurged)
        single("attendance_api_sso_failures_total", "School-account sign-ins that ended with an sso_error.", "counter", signInFailures)
        single("attendance_api_webhooks_delivered_total", "Absence webhooks a receiver accepted (2xx).", "counter", webhooksDelivered)
        single("attendance_api_webhook_retries_total", "Webhook attempts that failed and were scheduled again.", "counter", webhooksRetried)
        single("attendance_api_webhooks_failed_total", "Absence webhooks given up after the retry window (listed by GET /v1/webhooks/failures).", "counter", webhooksFailed)
        single("attendance_api_redis_reconnects_total", "Redis connections re-established after a loss.", "counter", redisReconnects)
        single("attendance_api_redis_connected", "1 while the Redis connection is up.", "gauge", redisConnected ? 1 : 0)
        return out
    }
}

@available(*, unavailable)
extension APIMetrics: Sendable {}
