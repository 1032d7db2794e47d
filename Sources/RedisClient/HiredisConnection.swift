@preconcurrency import CHiredis
@preconcurrency import CLibUV
import EventLoop
import Logging

/// One hiredis async context on the loop, re-created with exponential backoff whenever it drops.
/// RedisClient and RedisSubscriber each own one; this type knows nothing about what they send.
final class HiredisConnection {
    unowned(unsafe) let loop: EventLoop
    let configuration: RedisConfiguration
    let logger: Logger
    private(set) var context: UnsafeMutablePointer<redisAsyncContext>?
    private(set) var isConnected = false
    private var closed = false
    private var backoffMs: UInt64 = 0
    private var reconnectTimer: LoopTimer?
    /// Times the connection was re-established after a loss (for /metrics).
    private(set) var reconnects = 0
    private var everConnected = false

    var onConnected: (() -> Void)?
    var onDisconnected: ((String) -> Void)?

    /// Backoff bounds: fast first retry so a Redis restart costs little, capped so a long outage
    /// does not hammer the server or the log.
    static let initialBackoffMs: UInt64 = 100
    static let maxBackoffMs: UInt64 = 5000

    init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
    }

    func connect() {
        guard !closed, context == nil else { return }
        guard let ac = redisAsyncConnect(configuration.host, Int32(configuration.port)) else {
            scheduleReconnect(reason: "out of memory")
            return
        }
        if ac.pointee.err != 0 {
            let reason = errorString(ac)
            redisAsyncFree(ac)
            scheduleReconnect(reason: reason)
            return
        }
        // The context holds a strong reference to us until its last callback has run.
        ac.pointee.data = Unmanaged.passRetained(self).toOpaque()
        if redisLibuvAttach(ac, loop.uv) != REDIS_OK {
            Unmanaged<HiredisConnection>.fromOpaque(ac.pointee.data).release()
            redisAsyncFree(ac)
            scheduleReconnect(reason: "cannot attach to loop")
            return
        }
        redisAsyncSetConnectCallback(ac) { ac, status in
            let me = Unmanaged<HiredisConnection>.fromOpaque(ac!.pointee.data).takeUnretainedValue()
            if status == REDIS_OK {
                me.didConnect()
            } else {
                // hiredis frees the context right after this callback; no disconnect callback follows.
                let reason = me.errorString(UnsafeMutablePointer(mutating: ac!))
                me.contextGone(reason: reason)
                Unmanaged<HiredisConnection>.fromOpaque(ac!.pointee.data).release()
            }
        }
        redisAsyncSetDisconnectCallback(ac) { ac, status in
            let me = Unmanaged<HiredisConnection>.fromOpaque(ac!.pointee.data).takeUnretainedValue()
            let reason = status == REDIS_OK ? "closed" : me.errorString(UnsafeMutablePointer(mutating: ac!))
            me.contextGone(reason: reason)
            Unmanaged<HiredisConnection>.fromOpaque(ac!.pointee.data).release()
        }
        context = ac
        if let password = configuration.password { sendInternal(["AUTH", password]) }
        if configuration.database != 0 { sendInternal(["SELECT", String(configuration.database)]) }
    }

    private func didConnect() {
        isConnected = true
        backoffMs = 0
        if everConnected {
            reconnects += 1
            logger.info("redis reconnected", metadata: ["redis": "\(configuration.host):\(configuration.port)"])
        }
        everConnected = true
        onConnected?()
    }

    private func contextGone(reason: String) {
        let wasConnected = isConnected
        context = nil
        isConnected = false
        if wasConnected {
            if closed {
                logger.debug("redis connection closed")
            } else {
                logger.warning("redis connection lost: \(reason)")
            }
            onDisconnected?(reason)
        }
        if !closed { scheduleReconnect(reason: reason) }
    }

    private func scheduleReconnect(reason: String) {
        guard !closed else { return }
        backoffMs = backoffMs == 0 ? Self.initialBackoffMs : min(backoffMs * 2, Self.maxBackoffMs)
        // Jitter keeps many hubs from reconnecting in lockstep after a Redis restart.
        let delay = backoffMs / 2 + UInt64.random(in: 0...(backoffMs / 2))
        if backoffMs >= Self.maxBackoffMs || !everConnected {
            logger.debug("redis unavailable (\(reason)); retrying in \(delay) ms")
        }
        let timer = reconnectTimer ?? LoopTimer(loop: loop)
        reconnectTimer = timer
        timer.start(timeoutMs: delay) { [weak self] in self?.connect() }
    }

    /// Sends a command whose reply nobody waits for (AUTH/SELECT); errors surface in the log.
    private func sendInternal(_ args: [String]) {
        let box = Unmanaged.passRetained(LogBox(logger: logger, command: args[0]))
        if !submit(args.map { Array($0.utf8) }, callback: { _, reply, privdata in
            let box = Unmanaged<LogBox>.fromOpaque(privdata!).takeRetainedValue()
            if let reply, reply.assumingMemoryBound(to: redisReply.self).pointee.type == REDIS_REPLY_ERROR {
                let value = RedisValue(reply.assumingMemoryBound(to: redisReply.self))
                box.logger.error("redis \(box.command) failed: \(value)")
            }
        }, privdata: box.toOpaque()) {
            box.release()
        }
    }

    private final class LogBox {
        let logger: Logger
        let command: String
        init(logger: Logger, command: String) { self.logger = logger; self.command = command }
    }

    /// Hands a command to hiredis. Returns false (and the callback is never called) when there is no context.
    typealias ReplyCallback = @convention(c) (UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void

    func submit(_ args: [[UInt8]], callback: ReplyCallback?, privdata: UnsafeMutableRawPointer?) -> Bool {
        guard let ac = context else { return false }
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
        return redisAsyncCommandArgv(ac, callback, privdata, Int32(args.count), argv, argvlen) == REDIS_OK
    }

    func close() {
        guard !closed else { return }
        closed = true
        reconnectTimer?.close()
        reconnectTimer = nil
        // Graceful: hiredis waits for pending replies, then calls the disconnect callback.
        if let ac = context { redisAsyncDisconnect(ac) }
    }

    func errorString(_ ac: UnsafeMutablePointer<redisAsyncContext>) -> String {
        guard let s = ac.pointee.errstr else { return "error \(ac.pointee.err)" }
        return String(decoding: UnsafeRawBufferPointer(start: s, count: strlen(s)), as: UTF8.self)
    }
}
