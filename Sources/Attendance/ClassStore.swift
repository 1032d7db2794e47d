import EventLoop
import Logging
import RedisClient

/// The domain's operations over Redis, shared by the hub and the REST sidecar. Bound to the loop of
/// its RedisClient: call it on that loop only. Completions run on the loop; validation errors are
/// reported synchronously, before the call returns.
///
/// Every write is one Lua script on one class's keys (see Scripts/); join codes and the auto-close
/// index live outside a class's slot and are maintained around the scripts in an order that a crash
/// at any point leaves repairable by `sweepExpiredClasses` or by key expiry. Failure counters per
/// address (`limits`) are global keys too, read before and counted after a join or check-in.
public final class ClassStore {
    public let redis: RedisClient
    public let signer: TokenSigner
    let qrKey: [UInt8]
    let logger: Logger
    /// Wall-clock milliseconds; injectable so tests can place a check-in on a window edge.
    let clock: () -> Int64

    /// How long a student token outlives its class's end, so a student can still see the result.
    public var studentTokenGraceS: Int64 = ClassStore.defaultStudentTokenGraceS
    public static let defaultStudentTokenGraceS: Int64 = 3600
    /// How long a join code outlives the class's planned end if nothing deletes it (a crashed sweep).
    var codeExpiryMarginS = 900
    /// Join codes are drawn at random; a collision with an open class draws again up to this often.
    var codeAttempts = 20
    /// Failure limits and the size of classes without a roster (the processes set them from their
    /// configuration).
    public var limits = StoreLimits()
    /// Replaced in tests to force collisions.
    var makeJoinCode: () -> String = JoinCode.random
    /// Called on the loop when this store closed a class (the api starts its after-close work).
    public var onClassClosed: ((String) -> Void)?

    /// Facts of a class, cached so a check-in needs one round trip (the script) instead of two.
    /// Bounded: cleared whole when full, which only costs a re-read. `allowed_networks` and
    /// `join_requires` can change (`updateClass`), so an entry is used for `paramsCacheTTLMs` only:
    /// a change reaches every other process within that time, the changing one at once.
    var paramsCache: [String: ClassParams] = [:]
    static let paramsCacheLimit = 10_000
    static let paramsCacheTTLMs: Int64 = 2000
    /// Password hashes queued on the loop's thread pool (bounded by `maxHashesInFlight`).
    var hashesInFlight = 0

    struct ClassParams {
        let teacherId: String
        let name: String
        let qrPeriodS: Int
        let allowCode: Bool
        let code: String
        let startMs: Int64
        let closesAtMs: Int64
        /// The class's own networks; empty: `limits.allowedNetworks` applies.
        let allowedNetworks: [CIDR]
        /// `join_requires: link`.
        let requiresLink: Bool
        /// When this was read (for `paramsCacheTTLMs`).
        var readAtMs: Int64 = 0
    }

    public init(redis: RedisClient, signer: TokenSigner, qrKey: [UInt8], logger: Logger,
                clock: @escaping () -> Int64 = { EventLoop.wallClockMs() }) {
        self.redis = redis
        self.signer = signer
        self.qrKey = qrKey
        self.logger = logger
        self.clock = clock
    }

    // MARK: - Shared helpers

    /// The owner argument of the scripts: "" lets admins act on any class, a teacher's id must be
    /// the class's teacher, nil (students) may not use teacher operations.
    func ownerArgument(_ actor: Actor) -> String? {
        switch actor.role {
        case .admin: ""
        case .teacher: actor.id
        case .student: nil
        }
    }

    /// Runs a script on a class's keys and maps its reply or error.
    func runClassScript<T>(_ script: RedisScript, classId: String, args: [String],
                           decode: @escaping (RedisValue) -> T?,
                           completion: @escaping (Result<T, AttendanceError>) -> Void) {
        redis.evalScript(script, keys: Keys.classKeys(classId), args: args) { [logger] result in
            completion(Self.map(result, logger: logger, decode))
        }
    }

    static func map<T>(_ result: Result<RedisValue, RedisError>, logger: Logger,
                       _ decode: (RedisValue) -> T?) -> Result<T, AttendanceError> {
        switch result {
        case .success(let value):
            if let decoded = decode(value) { return .success(decoded) }
            logger.error("unexpected Redis reply", metadata: ["reply": "\(value)"])
            return .failure(.unavailable)
        case .failure(let error):
            let mapped = AttendanceError(redis: error)
            if mapped == .unavailable { logger.warning("Redis failed", metadata: ["error": "\(error)"]) }
            return .failure(mapped)
        }
    }

    /// The cached facts of a class, read from its meta hash on a miss; `.notFound` when it does not exist.
    func params(_ classId: String, completion: @escaping (Result<ClassParams, AttendanceError>) -> Void) {
        let now = clock()
        if let cached = paramsCache[classId], now - cached.readAtMs < Self.paramsCacheTTLMs, now >= cached.readAtMs {
            return completion(.success(cached))
        }
        redis.send(["HMGET", Keys.meta(classId), "teacher_id", "qr_period_s", "allow_code", "code",
                    "start_ms", "closes_at_ms", "allowed_networks", "join_requires", "name"]) { [logger] result in
            let mapped: Result<ClassParams?, AttendanceError> = Self.map(result, logger: logger) { value in
                guard let fields = value.array, fields.count == 9 else { return nil }
                guard let teacher = fields[0].text else { return .some(nil) }
                guard let period = fields[1].int, let code = fields[3].text, let start = fields[4].int,
                      let closes = fields[5].int
                else { return nil }
                return ClassParams(teacherId: teacher, name: fields[8].text ?? "", qrPeriodS: Int(period), allowCode: fields[2].text == "1",
                                   code: code, startMs: start, closesAtMs: closes,
                                   allowedNetworks: Self.storedNetworks(fields[6].text),
                                   requiresLink: fields[7].text == "link", readAtMs: now)
            }
            switch mapped {
            case .success(let params?):
                if self.paramsCache.count >= Self.paramsCacheLimit { self.paramsCache.removeAll(keepingCapacity: true) }
                self.paramsCache[classId] = params
                completion(.success(params))
            case .success(nil):
                completion(.failure(AttendanceError.classNotFound))
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }

    /// A class's networks as create_class stored them (validated then, so nothing is dropped here).
    static func storedNetworks(_ text: String?) -> [CIDR] {
        guard let text, case .success(let networks) = CIDR.parseList(text) else { return [] }
        return networks
    }

    /// Whether a check-in from `address` may reach a class: its own networks, else the site's.
    /// Checked here, before the script, because the class's networks come with the cached params
    /// (no extra round trip) and the script then stays unaware of addresses.
    func networkAllows(_ address: String, params: ClassParams) -> Bool {
        let networks = params.allowedNetworks.isEmpty ? limits.allowedNetworks : params.allowedNetworks
        return networks.isEmpty || networks.anyContains(address)
    }

    /// Join codes and auto-close entries are cleanup, not state: when Redis refuses, the code expires
    /// by itself and the sweep retries the close bookkeeping, so failures are only logged.
    func releaseCode(_ code: String, classId: String) {
        guard !code.isEmpty else { return }
        redis.evalScript(Self.releaseCodeScript, keys: [Keys.code(code)], args: [classId]) { [logger] result in
            if case .failure(let error) = result {
                logger.warning("could not release join code", metadata: ["class_id": "\(classId)", "error": "\(error)"])
            }
        }
    }

    /// Clean text for names and notes: bounded length, no control characters, and none of the
    /// invisible characters that make a name look like another on the teacher's screen: bidi
    /// embeddings, overrides and isolates (U+202A–202E, U+2066–2069), zero-width characters and
    /// direction marks (U+200B–200F), the byte-order mark (U+FEFF).
    public static func isCleanText(_ text: String, maxCharacters: Int) -> Bool {
        var count = 0
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control { return false }
            switch scalar.value {
            case 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: return false
            default: break
            }
            count += 1
            if count > maxCharacters { return false }
        }
        return true
    }

    /// The `bad_request` text for a field that `isCleanText` refused.
    static func cleanTextRule(_ field: String, maxCharacters: Int, minCharacters: Int = 0) -> String {
        let length = minCharacters > 0 ? "\(minCharacters)–\(maxCharacters) characters" : "at most \(maxCharacters) characters"
        return "\(field) must be \(length), without control characters, bidi overrides or zero-width characters"
    }

    /// Client addresses go into the audit trail only; a bound keeps a hostile header from bloating it.
    static func auditAddress(_ address: String) -> String { String(address.prefix(100)) }

    // MARK: - Scripts (loaded once per server, then EVALSHA)
    // `writes`: the script writes an acknowledged record; with replica durability it waits for WAIT.

    static let createScript = RedisScript(CreateClassScript.source, writes: true)
    static let joinScript = RedisScript(JoinScript.source, writes: true)
    static let checkinScript = RedisScript(CheckinScript.source, writes: true)
    static let overrideScript = RedisScript(OverrideScript.source, writes: true)
    static let deviceResetScript = RedisScript(DeviceResetScript.source, writes: true)
    static let bulkScript = RedisScript(BulkScript.source, writes: true)
    static let closeScript = RedisScript(CloseScript.source, writes: true)
    static let purgeScript = RedisScript(PurgeScript.source)
    static let snapshotScript = RedisScript(ReadScripts.snapshot)
    static let infoScript = RedisScript(ReadScripts.info)
    static let eventsScript = RedisScript(ReadScripts.events)
    static let rateLimitScript = RedisScript(UtilityScripts.rateLimit)
    static let failurePeekScript = RedisScript(UtilityScripts.failurePeek)
    static let releaseCodeScript = RedisScript(UtilityScripts.releaseCode)
    static let rotateScript = RedisScript(SessionScripts.rotate)
    static let addUserScript = RedisScript(SessionScripts.addUser)
    static let disableUserScript = RedisScript(SessionScripts.disableUser)
}

@available(*, unavailable)
extension ClassStore: Sendable {}
