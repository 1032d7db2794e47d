import JSON
import RedisClient

/// One notification waiting for delivery: a stream entry of the webhook queue.
public struct WebhookJob: Sendable, Equatable {
    /// The stream entry id (what XACK takes).
    public let entryId: String
    /// Stable across retries and re-deliveries: `<class_id>.<student_id>.<url index>`; receivers
    /// de-duplicate by it (delivery is at least once).
    public let deliveryId: String
    public let url: String
    public let body: String
    /// Attempts already made (0 for a fresh job).
    public let attempts: Int
    /// When the job was enqueued; retries stop `retryWindowMs` later.
    public let firstMs: Int64
}

/// The webhook queue in Redis: a stream with one consumer group shared by every api process, a
/// sorted set of retries waiting for their time, and a capped list of failures. All four keys carry
/// the hash tag `{wh}`, so each step below is one script on one Cluster slot.
///
/// A job's life: `XADD` (enqueue) → `XREADGROUP` by one api (pending under its consumer) →
/// delivered: `XACK`+`XDEL`; failed for now: into the retry set with its due time and acked, in one
/// script; due: moved back into the stream by `promoteDueRetries`; past the window: into the failure
/// list and acked. An api that dies with jobs pending leaves them in the group's pending list, where
/// another api (or the restarted one) takes them with `XAUTOCLAIM` once idle long enough.
public enum WebhookQueue {
    public static let stream = "att:{wh}:stream"
    public static let retries = "att:{wh}:retry"
    public static let failures = "att:{wh}:failed"
    public static let group = "deliver"
    /// The failure list keeps the latest this many.
    public static let maxFailures = 1000
    /// A job read or claimed in one call.
    static let batch = 16
}

extension ClassStore {
    /// The store's wall clock (the one it stamps jobs with), for retry and signature times.
    public func currentTimeMs() -> Int64 { clock() }

    /// Creates the consumer group (and the stream) if missing; harmless when it exists.
    public func ensureWebhookGroup(completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        redis.send(["XGROUP", "CREATE", WebhookQueue.stream, WebhookQueue.group, "0", "MKSTREAM"]) { result in
            switch result {
            case .success: completion(.success(()))
            case .failure(.reply(let message)) where message.contains("BUSYGROUP"): completion(.success(()))
            case .failure(let error): completion(.failure(AttendanceError(redis: error)))
            }
        }
    }

    /// Adds jobs to the stream (one XADD each; a failure is reported after all were tried).
    public func enqueueWebhooks(_ jobs: [(deliveryId: String, url: String, body: String)],
                                completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        guard !jobs.isEmpty else { return completion(.success(())) }
        let now = String(clock())
        var pending = jobs.count
        var failure: AttendanceError?
        for job in jobs {
            redis.send(["XADD", WebhookQueue.stream, "*", "id", job.deliveryId, "url", job.url, "body", job.body,
                        "attempts", "0", "first_ms", now]) { result in
                if case .failure(let error) = result { failure = failure ?? AttendanceError(redis: error) }
                pending -= 1
                if pending == 0 { completion(failure.map { .failure($0) } ?? .success(())) }
            }
        }
    }

    /// New jobs for `consumer` (never delivered to anyone), at most a batch; never blocks.
    public func readWebhooks(consumer: String, count: Int, completion: @escaping (Result<[WebhookJob], AttendanceError>) -> Void) {
        redis.send(["XREADGROUP", "GROUP", WebhookQueue.group, consumer, "COUNT", String(max(1, min(count, WebhookQueue.batch))),
                    "STREAMS", WebhookQueue.stream, ">"]) { result in
            switch result {
            case .failure(let error): completion(.failure(AttendanceError(redis: error)))
            case .success(let value):
                // [[stream, [[id, [field, value, …]], …]]] or nil when nothing is new.
                let entries = value.array?.first?.array?.last?.array ?? []
                completion(.success(entries.compactMap(Self.webhookJob)))
            }
        }
    }

    /// Jobs pending under any consumer for at least `minIdleMs` (their api died or hung), taken over
    /// by `consumer`. `cursor` walks the pending list across calls ("0-0" to start).
    public func claimStaleWebhooks(consumer: String, minIdleMs: Int64, cursor: String, count: Int,
                                   completion: @escaping (Result<(next: String, jobs: [WebhookJob]), AttendanceError>) -> Void) {
        redis.send(["XAUTOCLAIM", WebhookQueue.stream, WebhookQueue.group, consumer, String(minIdleMs), cursor,
                    "COUNT", String(max(1, min(count, WebhookQueue.batch)))]) { result in
            switch result {
            case .failure(let error): completion(.failure(AttendanceError(redis: error)))
            case .success(let value):
                let parts = value.array ?? []
                let next = parts.first?.text ?? "0-0"
                let entries = parts.count > 1 ? parts[1].array ?? [] : []
                completion(.success((next, entries.compactMap(Self.webhookJob))))
            }
        }
    }

    /// Delivered: acknowledged and removed from the stream.
    public func acknowledgeWebhook(_ job: WebhookJob, completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        redis.evalScript(Self.webhookAckScript, keys: [WebhookQueue.stream], args: [WebhookQueue.group, job.entryId]) { result in
            completion(result.map { _ in () }.mapError(AttendanceError.init(redis:)))
        }
    }

    /// Not delivered yet: due again at `dueMs` with one more attempt counted; acknowledged in the
    /// same step, so it is in exactly one place.
    public func retryWebhook(_ job: WebhookJob, dueMs: Int64, completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        var w = JSONWriter(capacity: 128 + job.body.utf8.count)
        w.beginObject()
        w.field("id", job.deliveryId)
        w.field("url", job.url)
        w.field("body", job.body)
        w.field("attempts", String(job.attempts + 1))
        w.field("first_ms", String(job.firstMs))
        w.endObject()
        redis.evalScript(Self.webhookRetryScript, keys: [WebhookQueue.stream, WebhookQueue.retries],
                         args: [WebhookQueue.group, job.entryId, String(dueMs), String(decoding: w.bytes, as: UTF8.self)]) { result in
            completion(result.map { _ in () }.mapError(AttendanceError.init(redis:)))
        }
    }

    /// Given up: recorded in the failure list (the latest `maxFailures`) and acknowledged.
    public func failWebhook(_ job: WebhookJob, reason: String, completion: @escaping (Result<Void, AttendanceError>) -> Void) {
        var w = JSONWriter(capacity: 256 + job.body.utf8.count)
        w.beginObject()
        w.field("delivery_id", job.deliveryId)
        w.field("url", job.url)
        w.field("attempts", job.attempts + 1)
        w.field("first_ms", job.firstMs)
        w.field("failed_ms", clock())
        w.field("last_error", String(reason.prefix(300)))
        w.field("body", job.body)
        w.endObject()
        redis.evalScript(Self.webhookFailScript, keys: [WebhookQueue.stream, WebhookQueue.failures],
                         args: [WebhookQueue.group, job.entryId, String(decoding: w.bytes, as: UTF8.self),
                                String(WebhookQueue.maxFailures)]) { result in
            completion(result.map { _ in () }.mapError(AttendanceError.init(redis:)))
        }
    }

    /// Moves retries whose time has come back into the stream (at most 100 a call); returns how many.
    public func promoteDueRetries(completion: @escaping (Result<Int, AttendanceError>) -> Void) {
        redis.evalScript(Self.webhookPromoteScript, keys: [WebhookQueue.stream, WebhookQueue.retries],
                         args: [String(clock()), "100"]) { [logger] result in
            completion(Self.map(result, logger: logger) { $0.int.map(Int.init) })
        }
    }

    /// The latest failures, newest first, each the JSON object `failWebhook` stored.
    public func webhookFailures(limit: Int, completion: @escaping (Result<[[UInt8]], AttendanceError>) -> Void) {
        redis.send(["LRANGE", WebhookQueue.failures, "0", String(max(0, min(limit, WebhookQueue.maxFailures) - 1))]) { [logger] result in
            completion(Self.map(result, logger: logger) { value in value.array?.compactMap(\.bytes) })
        }
    }

    /// One `[id, [field, value, …]]` stream entry; nil for an entry deleted meanwhile or malformed.
    static func webhookJob(_ entry: RedisValue) -> WebhookJob? {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].text, let flat = parts[1].array else { return nil }
        var fields: [String: String] = [:]
        var index = 0
        while index + 1 < flat.count {
            if let key = flat[index].text, let value = flat[index + 1].text { fields[key] = value }
            index += 2
        }
        guard let delivery = fields["id"], let url = fields["url"], let body = fields["body"],
              let attempts = fields["attempts"].flatMap({ Int($0) }), let first = fields["first_ms"].flatMap({ Int64($0) })
        else { return nil }
        return WebhookJob(entryId: id, deliveryId: delivery, url: url, body: body, attempts: attempts, firstMs: first)
    }

    static let webhookAckScript = RedisScript(#"""
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""#, writes: true)

    /// KEYS: stream, retry set. ARGV: group, entry id, due ms, job JSON.
    static let webhookRetryScript = RedisScript(#"""
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""#, writes: true)

    /// KEYS: stream, failure list. ARGV: group, entry id, failure JSON, cap. An entry another api
    /// already acknowledged (it claimed the job meanwhile) is not recorded twice.
    static let webhookFailScript = RedisScript(#"""
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
return 1
"""#, writes: true)

    /// KEYS: stream, retry set. ARGV: now ms, limit.
    static let webhookPromoteScript = RedisScript(#"""
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, raw in ipairs(due) do
  local job = cjson.decode(raw)
  redis.call('XADD', KEYS[1], '*', 'id', job.id, 'url', job.url, 'body', job.body, 'attempts', job.attempts,
             'first_ms', job.first_ms)
  redis.call('ZREM', KEYS[2], raw)
end
return #due
"""#, writes: true)
}
