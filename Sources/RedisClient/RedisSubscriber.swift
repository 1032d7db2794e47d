@preconcurrency import CHiredis
import EventLoop
import Logging

/// The one pub/sub connection of a process (or worker): subscribes to channels while anyone local
/// listens and hands each message to `onMessage` without copying. After a reconnect it subscribes
/// to every channel again and then calls `onResubscribed`, so the owner can replay, from the
/// durable streams, what was published while it was away.
///
/// Keep-alive: an idle connection re-subscribes to a private, never-published channel, and that
/// confirmation is awaited like any reply (a stalled or half-open connection times out and is
/// re-established). Not PING: RESP2 answers it in subscribed mode with `["pong", ""]`, which
/// hiredis 0.14 routes as a pattern message and never matches to the PING's callback, so every
/// PING would leave a callback record queued until the connection closes.
public final class RedisSubscriber {
    let connection: HiredisConnection
    /// The channels the owner wants.
    private var channels: Set<String> = []
    /// SUBSCRIBE/UNSUBSCRIBE commands sent for a channel on this connection whose reply has not
    /// come yet. A channel is live only on the reply to the last one (a subscribe → unsubscribe →
    /// subscribe race must not go live on the first confirmation).
    private var outstanding: [String: Int] = [:]
    private var confirmations: [String: [() -> Void]] = [:]
    private let keepAliveChannel = "att:keepalive:" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    /// What to do when each keep-alive confirmation arrives, in order (it also marks that every
    /// SUBSCRIBE sent before it was answered).
    private var keepAliveActions: [(() -> Void)?] = []

    /// The payload pointer is valid only during the call.
    public var onMessage: ((_ channel: String, _ payload: UnsafeRawBufferPointer) -> Void)?
    /// Every channel was subscribed again after the connection came back.
    public var onResubscribed: (() -> Void)?
    /// True when connected, false when the connection is lost.
    public var onStateChange: ((Bool) -> Void)?

    public init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        connection = HiredisConnection(loop: loop, configuration: configuration, logger: logger)
        connection.onReady = { [weak self] in self?.connectionReady() }
        connection.onLost = { [weak self] _ in
            // Waiters for a confirmation get it after the resubscribe.
            self?.onStateChange?(false)
        }
        connection.onIdle = { [weak self] in self?.keepAlive(then: nil) }
        connection.onPush = { [weak self] in self?.handle($0) }
    }

    public func connect() { connection.connect() }
    public func close() { connection.close() }
    public var isConnected: Bool { connection.isReady }
    /// Connected, and no confirmation overdue.
    public var isHealthy: Bool { connection.isHealthy }
    public var reconnects: Int { connection.reconnects }

    private func connectionReady() {
        outstanding.removeAll()
        keepAliveActions.removeAll()
        onStateChange?(true)
        guard !channels.isEmpty, connection.isReady else { return }
        submit("SUBSCRIBE", Array(channels))
        // Redis answers in order: the keep-alive confirmation after them means all are back.
        if connection.reconnects > 0 { keepAlive { [weak self] in self?.onResubscribed?() } }
    }

    /// Subscribes; `confirmed` runs once Redis has confirmed the subscription (messages published
    /// after that point are delivered). While disconnected it runs after the reconnect.
    public func subscribe(_ channel: String, confirmed: (() -> Void)? = nil) {
        if let confirmed { confirmations[channel, default: []].append(confirmed) }
        guard channels.insert(channel).inserted else {
            // Already wanted: live now unless a command for it is still unanswered (then the last
            // one, a SUBSCRIBE, will confirm).
            if connection.isReady, outstanding[channel] == nil { fireConfirmations(channel) }
            return
        }
        if connection.isReady { submit("SUBSCRIBE", [channel]) }
    }

    public func unsubscribe(_ channel: String) {
        guard channels.remove(channel) != nil else { return }
        confirmations[channel] = nil
        if connection.isReady { submit("UNSUBSCRIBE", [channel]) }
    }

    private func keepAlive(then action: (() -> Void)?) {
        if submit("SUBSCRIBE", [keepAliveChannel], counted: false) { keepAliveActions.append(action) }
    }

    @discardableResult
    private func submit(_ command: String, _ channelList: [String], counted: Bool = true) -> Bool {
        let args = [Array(command.utf8)] + channelList.map { Array($0.utf8) }
        // hiredis keeps the callback of a subscribed channel for every message on it and calls it
        // once more with no reply when the context is freed; it reaches us through the connection,
        // which outlives the context.
        let sent = connection.submit(args, replies: channelList.count, callback: { ac, reply, _ in
            guard let ac, let reply else { return }
            LibuvBridge.owner(of: ac).onPush?(UnsafePointer(reply.assumingMemoryBound(to: redisReply.self)))
        }, privdata: nil)
        guard sent else {
            // A ready connection that refuses a command is broken: reconnecting resubscribes every
            // wanted channel, so no waiter is stranded.
            if connection.isReady { connection.fail(.connection("\(command) could not be sent")) }
            return false
        }
        if counted { for channel in channelList { outstanding[channel, default: 0] += 1 } }
        return true
    }

    func handle(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        guard r.type == REDIS_REPLY_ARRAY, r.elements >= 3,
              let kind = r.element[0], let channel = r.element[1], let third = r.element[2] else {
            if r.type == REDIS_REPLY_ERROR { connection.logger.error("redis subscribe error: \(RedisValue(reply))") }
            return
        }
        let kindBytes = UnsafeRawBufferPointer(start: kind.pointee.str, count: Int(kind.pointee.len))
        let name = String(decoding: UnsafeRawBufferPointer(start: channel.pointee.str, count: Int(channel.pointee.len)), as: UTF8.self)
        if kindBytes.elementsEqual("message".utf8) {
            onMessage?(name, UnsafeRawBufferPointer(start: third.pointee.str, count: Int(third.pointee.len)))
            return
        }
        let subscribed = kindBytes.elementsEqual("subscribe".utf8)
        guard subscribed || kindBytes.elementsEqual("unsubscribe".utf8) else { return }
        connection.replyArrived()
        if name == keepAliveChannel {
            if subscribed, !keepAliveActions.isEmpty { keepAliveActions.removeFirst()?() }
            return
        }
        let left = (outstanding[name] ?? 1) - 1
        outstanding[name] = left > 0 ? left : nil
        if left <= 0, subscribed, channels.contains(name) { fireConfirmations(name) }
    }

    private func fireConfirmations(_ channel: String) {
        guard let waiting = confirmations.removeValue(forKey: channel) else { return }
        for callback in waiting { callback() }
    }
}

@available(*, unavailable)
extension RedisSubscriber: Sendable {}
