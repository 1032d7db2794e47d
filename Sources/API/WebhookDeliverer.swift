import Attendance
import EventLoop
import Glibc
import HTTP
import Logging

/// Absence webhooks of an api process (docs/SCHOOL-SYSTEMS.md): where to, how they are signed,
/// and the retry policy.
public struct WebhookSettings: Sendable {
    /// Receivers; each notification goes to every one. Empty: no webhooks.
    public var urls: [String] = []
    /// HMAC-SHA256 key of `X-Attendance-Signature`.
    public var secret: [UInt8] = []
    /// PEM file of the CAs trusted for https receivers; nil: the system's trust store.
    public var caFile: String?
    /// A receiver that has not answered by then counts as a failed attempt.
    public var timeoutMs: UInt64 = 10_000
    /// The first retry waits this long; each further one twice the one before.
    public var firstRetryMs: Int64 = 2_000
    /// Retries stop this long after the notification was enqueued (the 30-minute alert SLA); then
    /// it is recorded as failed.
    public var retryWindowMs: Int64 = 30 * 60_000
    /// A job pending this long under one api (which died or hangs) is taken over by another.
    /// Must exceed `timeoutMs`, or a slow delivery in progress would be duplicated.
    public var claimIdleMs: Int64 = 60_000
    /// How often the queue is polled (reads never block the shared Redis connection).
    public var pollMs: UInt64 = 500
    /// Requests in flight at once per api process.
    public var maxInFlight = 16

    public init() {}
}

/// Delivers queued webhooks: every `pollMs` it moves due retries into the stream, takes over jobs
/// of dead consumers, reads new ones, and POSTs each, signed. Bound to the api's loop.
final class WebhookDeliverer {
    let store: ClassStore
    let settings: WebhookSettings
    let transport: any WebhookTransport
    let metrics: APIMetrics
    let logger: Logger
    /// This process's consumer name in the group: unique per start, so a restarted process does
    /// not silently inherit the pending jobs it had (they are claimed like any dead consumer's).
    let consumer: String
    private var timer: LoopTimer?
    private var inFlight = 0
    private var polling = false
    private var groupReady = false
    private var claimCursor = "0-0"

    init(store: ClassStore, settings: WebhookSettings, transport: any WebhookTransport, metrics: APIMetrics, logger: Logger) {
        self.store = store
        self.settings = settings
        self.transport = transport
        self.metrics = metrics
        self.logger = logger
        consumer = "api-\(getpid())-" + Base64URL.encode(Crypto.randomBytes(6))
    }

    func start(loop: EventLoop) {
        let timer = LoopTimer(loop: loop)
        timer.start(timeoutMs: settings.pollMs, repeatMs: settings.pollMs) { [weak self, unowned timer] in
            guard let self else { return timer.close() }
            self.poll()
        }
        timer.unref()
        self.timer = timer
    }

    func stop() {
        timer?.close()
        timer = nil
    }

    /// One round: group, due retries, stale jobs, new jobs. Runs one at a time.
    func poll() {
        guard !polling, store.redis.isConnected, timer != nil else { return }
        polling = true
        guard groupReady else {
            return store.ensureWebhookGroup { result in
                self.polling = false
                if case .success = result { self.groupReady = true; self.poll() }
            }
        }
        store.promoteDueRetries { _ in
            let room = self.settings.maxInFlight - self.inFlight
            guard room > 0 else { self.polling = false; return }
            self.store.claimStaleWebhooks(consumer: self.consumer, minIdleMs: self.settings.claimIdleMs, cursor: self.claimCursor,
                                          count: room) { claimed in
                var taken = 0
                if case .success(let (next, jobs)) = claimed {
                    self.claimCursor = next
                    if !jobs.isEmpty { self.logger.info("took over \(jobs.count) webhook job(s) of a stopped api") }
                    jobs.forEach(self.deliver)
                    taken = jobs.count
                }
                guard room - taken > 0 else { self.polling = false; return }
                self.store.readWebhooks(consumer: self.consumer, count: room - taken) { read in
                    self.polling = false
                    switch read {
                    case .success(let jobs): jobs.forEach(self.deliver)
                    // A Redis that lost its data (or was flushed) has no group any more.
                    case .failure: self.groupReady = false
                    }
                }
            }
        }
    }

    /// `X-Attendance-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
    static func signature(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        let mac = Crypto.hmacSHA256(key: secret, message: Array("\(timestamp).".utf8) + body)
        let hex = Array("0123456789abcdef".utf8)
        var out = Array("sha256=".utf8)
        for byte in mac { out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    private func deliver(_ job: WebhookJob) {
        inFlight += 1
        let body = Array(job.body.utf8)
        let timestamp = store.currentTimeMs() / 1000
        let headers: HTTPHeaders = [
            ("Content-Type", "application/json"),
            ("X-Attendance-Delivery", job.deliveryId),
            ("X-Attendance-Timestamp", String(timestamp)),
            ("X-Attendance-Signature", Self.signature(secret: settings.secret, timestamp: timestamp, body: body)),
        ]
        transport.post(url: job.url, headers: headers, body: body, timeoutMs: settings.timeoutMs) { result in
            switch result {
            case .success(let status) where (200..<300).contains(status):
                self.metrics.webhooksDelivered += 1
                self.store.acknowledgeWebhook(job) { _ in self.inFlight -= 1 }
            case .success(let status):
                self.failedAttempt(job, reason: "HTTP \(status)")
            case .failure(let error):
                self.failedAttempt(job, reason: error.description)
            }
        }
    }

    /// Schedules the next attempt, or gives up once the window has passed. A failure to record
    /// either leaves the job pending, so another round (or another api) retries it.
    private func failedAttempt(_ job: WebhookJob, reason: String) {
        let now = store.currentTimeMs()
        let deadline = job.firstMs + settings.retryWindowMs
        guard now < deadline else {
            metrics.webhooksFailed += 1
            logger.warning("webhook failed for good", metadata: ["delivery_id": "\(job.deliveryId)", "url": "\(job.url)",
                                                                  "attempts": "\(job.attempts + 1)", "error": "\(reason)"])
            return store.failWebhook(job, reason: reason) { _ in self.inFlight -= 1 }
        }
        let delay = settings.firstRetryMs << Int64(min(job.attempts, 30))
        metrics.webhooksRetried += 1
        store.retryWebhook(job, dueMs: min(now + delay, deadline)) { _ in self.inFlight -= 1 }
    }
}

@available(*, unavailable)
extension WebhookDeliverer: Sendable {}
