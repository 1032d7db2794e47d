@preconcurrency import CHiredis
@preconcurrency import CLibUV
import EventLoop
import Logging

/// One hiredis async context on the loop, re-created with exponential backoff whenever it drops.
/// RedisClient and RedisSubscriber each own one; this type knows nothing about what they send.
///
/// It is *ready* once its handshake (AUTH, SELECT, PING) was answered — a TCP connect alone proves
/// little (a stopped or still-loading Redis accepts connections). Every submitted command carries a
/// deadline; when the oldest unanswered reply is past it, the context is dropped, because a late
/// reply would otherwise be taken for the next command's. An idle ready connection asks its owner
/// (`onIdle`) for a probe, so a dead peer is noticed even when nothing is being sent.
final class HiredisConnection {
    let loop: EventLoop
    let configuration: RedisConfiguration
    let logger: Logger
    private(set) var context: UnsafeMutablePointer<redisAsyncContext>?
    /// The handshake of the current context was answered; commands may be sent.
    private(set) var isReady = false
    /// Why we are tearing the current context down ourselves; the reply callbacks that hiredis runs
    /// with a NULL reply during the teardown report it. Nil when hiredis noticed a failure itself.
    private(set) var failure: RedisError?
    private var pendingFailure: RedisError?
    private var announcedReady = false
    private var closed = false
    private var backoffMs: UInt64 = 0
    private var reconnectTimer: LoopTimer?
    private var tickTimer: LoopTimer?
    private var deadlines = DeadlineQueue()
    private var lastActivityMs: UInt64 = 0
    private var everReady = false
    /// Times the connection was re-established after a loss (for /metrics).
    private(set) var reconnects = 0

    var onReady: (() -> Void)?
    var onLost: ((String) -> Void)?
    /// The connection has been idle for `keepAliveMs`: the owner sends something that expects a reply.
    var onIdle: (() -> Void)?
    /// Pub/sub replies (subscribe confirmations and messages), for the subscriber.
    var onPush: ((UnsafePointer<redisReply>) -> Void)?

    /// Backoff bounds: fast first retry so a Redis restart costs little, capped so a long outage
    /// does not hammer the server or the log.
    static let initialBackoffMs: UInt64 = 100
    static let maxBackoffMs: UInt64 = 5000

    init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
    }

    /// Ready and no reply overdue by more than `stallAfterMs`: what /healthz reports.
    var isHealthy: Bool {
        guard isReady else { return false }
        guard let oldest = deadlines.first else { return true }
        let sentAt = oldest - configuration.commandTimeoutMs
        return loop.nowMs < sentAt + configuration.stallAfterMs
    }

    func connect() {
        guard !closed, context == nil else { return }
        startTicking()
        failure = nil
        pendingFailure = nil
        guard let ac = redisAsyncConnect(configuration.host, Int32(configuration.port)) else {
            return scheduleReconnect(reason: "out of memory")
        }
        if ac.pointee.err != 0 {
            let reason = Self.errorString(ac)
            redisAsyncFree(ac)
            return scheduleReconnect(reason: reason)
        }
        guard LibuvBridge.attach(ac, loop: loop, owner: self) else {
            redisAsyncFree(ac)
            return scheduleReconnect(reason: "cannot watch the socket")
        }
        context = ac
        // hiredis queues these until the socket is connected; the handshake's deadline also bounds
        // the connect itself.
        if let password = configuration.password { handshake(["AUTH", password], last: false) }
        if configuration.database != 0 { handshake(["SELECT", String(configuration.database)], last: false) }
        handshake(["PING"], last: true)
    }

    private final class HandshakeStep {
        let command: String
        let last: Bool
        init(command: String, last: Bool) { self.command = command; self.last = last }
    }

    private func handshake(_ args: [String], last: Bool) {
        let step = Unmanaged.passRetained(HandshakeStep(command: args[0], last: last))
        let submitted = submit(args.map { Array($0.utf8) }, callback: { ac, reply, privdata in
            let step = Unmanaged<HandshakeStep>.fromOpaque(privdata!).takeRetainedValue()
            guard let ac, let reply else { return }
            let me = LibuvBridge.owner(of: ac)
            me.replyArrived()
            let value = RedisValue(reply.assumingMemoryBound(to: redisReply.self))
            if case .error(let message) = value {
                // A wrong password, a bad database, or Redis still loading its data: retry later.
                me.logger.warning("redis \(step.command) failed: \(message)")
                if step.last { me.fail(.reply(message)) }
            } else if step.last {
                me.becameReady()
            }
        }, privdata: step.toOpaque())
        if !submitted {
            step.release()
            // Without its handshake the context would never become ready: start over.
            failSoon(.connection("\(args[0]) could not be sent"))
        }
    }

    private func becameReady() {
        isReady = true
        announcedReady = true
        backoffMs = 0
        if everReady {
            reconnects += 1
            logger.info("redis reconnected", metadata: ["redis": "\(configuration.host):\(configuration.port)"])
        }
        everReady = true
        onReady?()
    }

    /// Called by the bridge when hiredis frees the context (an error, a timeout, or `close`).
    func contextGone(reason: String) {
        let why = failure?.description ?? reason
        context = nil
        isReady = false
        deadlines.removeAll()
        if announcedReady {
            announcedReady = false
            if closed { logger.debug("redis connection closed") } else { logger.warning("redis connection lost: \(why)") }
            onLost?(why)
        }
        if closed { stopTicking() } else { scheduleReconnect(reason: why) }
    }

    /// Drops the context now: its waiting commands fail with `error`. Not from inside hiredis' event
    /// hooks (use `failSoon`); from a reply callback hiredis defers the free until the callback returns.
    func fail(_ error: RedisError) {
        guard let ac = context, failure == nil else { return }
        failure = error
        isReady = false
        redisAsyncFree(ac)
    }

    /// Drops the context on the next tick (for callers inside hiredis).
    func failSoon(_ error: RedisError) { pendingFailure = pendingFailure ?? error }

    private func scheduleReconnect(reason: String) {
        guard !closed else { return }
        backoffMs = backoffMs == 0 ? Self.initialBackoffMs : min(backoffMs * 2, Self.maxBackoffMs)
        // Jitter keeps many hubs from reconnecting in lockstep after a Redis restart.
        let delay = backoffMs / 2 + UInt64.random(in: 0...(backoffMs / 2))
        if backoffMs >= Self.maxBackoffMs || !everReady {
            logger.debug("redis unavailable (\(reason)); retrying in \(delay) ms")
        }
        let timer = reconnectTimer ?? LoopTimer(loop: loop)
        reconnectTimer = timer
        timer.start(timeoutMs: delay) { [weak self] in self?.connect() }
    }

    // MARK: - Deadlines and keep-alive

    private var tickMs: UInt64 { max(min(configuration.keepAliveMs, configuration.commandTimeoutMs) / 4, 10) }

    private func startTicking() {
        guard tickTimer == nil else { return }
        let timer = LoopTimer(loop: loop)
        timer.start(timeoutMs: tickMs, repeatMs: tickMs) { [weak self] in self?.tick() }
        // The poll handle keeps the loop alive while there is a context; the tick alone must not.
        timer.unref()
        tickTimer = timer
    }

    private func stopTicking() {
        tickTimer?.close()
        tickTimer = nil
    }

    private func tick() {
        guard context != nil else { return }
        let now = loop.nowMs
        if let error = pendingFailure {
            pendingFailure = nil
            return fail(error)
        }
        if let oldest = deadlines.first, now >= oldest {
            // Warn once per outage; the unanswered handshakes of the reconnect attempts are expected.
            let message: Logger.Message = "redis did not answer within \(configuration.commandTimeoutMs) ms; dropping the connection"
            if isReady { logger.warning(message) } else { logger.debug(message) }
            return fail(.timeout)
        }
        if isReady, deadlines.isEmpty, now - lastActivityMs >= configuration.keepAliveMs {
            lastActivityMs = now
            onIdle?()
        }
    }

    // MARK: - Commands

    typealias ReplyCallback = @convention(c) (UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void

    /// Hands a command to hiredis; `replies` is how many replies it will produce (one per channel for
    /// SUBSCRIBE), each to be acknowledged with `replyArrived()`. Returns false (and the callback is
    /// never called) when there is no usable context.
    func submit(_ args: [[UInt8]], replies: Int = 1, callback: ReplyCallback?, privdata: UnsafeMutableRawPointer?) -> Bool {
        guard let ac = context, failure == nil else { return false }
        // hiredis formats the command into its own buffer during the call, so the argument memory
        // only has to live for the call: one contiguous block, freed right after.
        let total = args.reduce(0) { $0 + $1.count }
        let block = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 1)
        let argv = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: args.count)
        let argvlen = UnsafeMutablePointer<Int>.allocate(capacity: args.count)
        defer { block.deallocate(); argv.deallocate(); argvlen.deallocate() }
        var offset = 0
        for (i, arg) in args.enumerated() {
            arg.withUnsafeBytes { if $0.count > 0 { (block + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            argv[i] = UnsafePointer((block + offset).assumingMemoryBound(to: CChar.self))
            argvlen[i] = arg.count
            offset += arg.count
        }
        guard redisAsyncCommandArgv(ac, callback, privdata, Int32(args.count), argv, argvlen) == REDIS_OK else { return false }
        let now = loop.nowMs
        lastActivityMs = now
        deadlines.append(now + configuration.commandTimeoutMs, count: replies)
        return true
    }

    /// Appends a command in RESP form to the output buffer without registering a reply callback
    /// (`redisAppendFormattedCommand` on the async context's own redisContext), and counts `replies`
    /// deadlines. For the shard-channel commands hiredis 0.14 does not know: registered, each would
    /// leave a callback record queued until the connection closes; their replies reach the
    /// channel's callback by name instead (see ShardSubscriber).
    func appendUnregistered(_ command: [UInt8], replies: Int) -> Bool {
        guard let ac = context, failure == nil, ac.pointee.c.flags & Int32(REDIS_DISCONNECTING | REDIS_FREEING) == 0 else { return false }
        let status = command.withUnsafeBytes { bytes in
            withUnsafeMutablePointer(to: &ac.pointee.c) {
                redisAppendFormattedCommand($0, bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count)
            }
        }
        guard status == REDIS_OK else { return false }
        // What hiredis' own command functions do after appending: have the loop write it.
        ac.pointee.ev.addWrite?(ac.pointee.ev.data)
        let now = loop.nowMs
        lastActivityMs = now
        deadlines.append(now + configuration.commandTimeoutMs, count: replies)
        return true
    }

    /// One expected reply arrived (in order: it settles the oldest deadline).
    func replyArrived() {
        deadlines.removeFirst()
        lastActivityMs = loop.nowMs
    }

    /// The error for a command whose callback got no reply (the context is being freed).
    func lostReplyError(_ ac: UnsafeMutablePointer<redisAsyncContext>?) -> RedisError {
        if let failure { return failure }
        if let ac, ac.pointee.err != 0 { return .connection(Self.errorString(ac)) }
        return .connection("connection closed before the reply")
    }

    func close() {
        guard !closed else { return }
        closed = true
        reconnectTimer?.close()
        reconnectTimer = nil
        isReady = false
        // Graceful: hiredis waits for pending replies (bounded by their deadlines, which the tick
        // still enforces), then frees the context.
        if let ac = context { redisAsyncDisconnect(ac) } else { stopTicking() }
    }

    static func errorString(_ ac: UnsafeMutablePointer<redisAsyncContext>) -> String {
        guard let s = ac.pointee.errstr else { return "error \(ac.pointee.err)" }
        return String(cString: s)
    }
}

@available(*, unavailable)
extension HiredisConnection: Sendable {}
