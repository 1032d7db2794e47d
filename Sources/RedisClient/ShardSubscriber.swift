@preconcurrency import CHiredis
import EventLoop
import Logging

/// One pub/sub connection (to a single Redis, or to one cluster master) for *shard channels*:
/// SSUBSCRIBE while anyone local listens, each message handed to `onMessage` without copying.
/// After a reconnect it subscribes to every channel again and then calls `onResubscribed`, so the
/// owner can replay, from the durable streams, what was published while it was away.
///
/// hiredis 0.14 predates sharded pub/sub: it routes a pub/sub reply by its channel name through the
/// callbacks a *classic* SUBSCRIBE registered, aborts on a push it cannot route while the context
/// is not in subscribed mode, and disconnects on an error reply it has no callback for. So:
/// - the connection first subscribes (classic) to a private keep-alive channel, which keeps hiredis
///   in subscribed mode for the connection's life;
/// - a channel is subscribed with a classic `SUBSCRIBE ch` (hiredis registers the channel's callback)
///   followed by `SSUBSCRIBE ch` appended to the output buffer without a callback; the `ssubscribe`/
///   `smessage`/`sunsubscribe` replies reach the channel's callback by name. The classic
///   subscription carries nothing (the scripts SPUBLISH only); it costs the server one dictionary
///   entry;
/// - unsubscribing is `UNSUBSCRIBE ch` + `SUNSUBSCRIBE ch`; hiredis drops the callback on the first
///   reply, so the second is usually not delivered and is never counted;
/// - an `sunsubscribe` for a wanted channel with no command of ours outstanding comes from the
///   server: the slot moved to another node (`onMoved`);
/// - an SSUBSCRIBE refused with `MOVED` makes hiredis drop the connection; the owner sees it lost.
///
/// Keep-alive: an idle connection re-subscribes to the keep-alive channel, and that confirmation
/// is awaited like any reply (a stalled or half-open connection times out and is re-established).
/// Not PING: RESP2 answers it in subscribed mode with `["pong", ""]`, which hiredis 0.14 routes as
/// a pattern message and never matches to the PING's callback.
final class ShardSubscriber {
    let connection: HiredisConnection
    /// The channels the owner wants.
    private(set) var channels: Set<String> = []
    /// Subscribe/unsubscribe pairs sent for a channel on this connection whose reply has not come
    /// yet. A channel is live only on the reply to the last one (a subscribe → unsubscribe →
    /// subscribe race must not go live on the first confirmation).
    private var outstanding: [String: Int] = [:]
    private var confirmations: [String: [() -> Void]] = [:]
    private let keepAliveChannel = "att:keepalive:" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    /// What to do when each keep-alive confirmation arrives, in order (it also marks that every
    /// SUBSCRIBE sent before it was answered).
    private var keepAliveActions: [(() -> Void)?] = []

    /// The payload pointer is valid only during the call.
    var onMessage: ((_ channel: String, _ payload: UnsafeRawBufferPointer) -> Void)?
    /// Every channel was subscribed again after the connection came back.
    var onResubscribed: (() -> Void)?
    /// True when connected, false when the connection is lost.
    var onStateChange: ((Bool) -> Void)?
    /// The server ended a shard subscription (its slot moved to another node); the channel is no
    /// longer live here.
    var onMoved: ((String) -> Void)?

    init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        connection = HiredisConnection(loop: loop, configuration: configuration, logger: logger)
        connection.onReady = { [weak self] in self?.connectionReady() }
        connection.onLost = { [weak self] _ in
            // Waiters for a confirmation get it after the resubscribe.
            self?.onStateChange?(false)
        }
        connection.onIdle = { [weak self] in self?.keepAlive(then: nil) }
        connection.onPush = { [weak self] in self?.handle($0) }
    }

    func connect() { connection.connect() }
    func close() { connection.close() }
    var isConnected: Bool { connection.isReady }
    /// Connected, and no confirmation overdue.
    var isHealthy: Bool { connection.isHealthy }
    var reconnects: Int { connection.reconnects }

    private func connectionReady() {
        outstanding.removeAll()
        keepAliveActions.removeAll()
        // First, so hiredis stays in subscribed mode whatever is unsubscribed later.
        keepAlive(then: nil)
        onStateChange?(true)
        guard !channels.isEmpty, connection.isReady else { return }
        submitSubscribe(Array(channels))
        // Redis answers in order: the keep-alive confirmation after them means all are back.
        if connection.reconnects > 0 { keepAlive { [weak self] in self?.onResubscribed?() } }
    }

    /// Subscribes; `confirmed` runs once Redis has confirmed the subscription (messages published
    /// after that point are delivered). While disconnected it runs after the reconnect.
    func subscribe(_ channel: String, confirmed: (() -> Void)? = nil) {
        if let confirmed { confirmations[channel, default: []].append(confirmed) }
        guard channels.insert(channel).inserted else {
            // Already wanted: live now unless a command for it is still unanswered (then the last
            // one, a SUBSCRIBE, will confirm).
            if connection.isReady, outstanding[channel] == nil { fireConfirmations(channel) }
            return
        }
        if connection.isReady { submitSubscribe([channel]) }
    }

    func unsubscribe(_ channel: String) {
        guard channels.remove(channel) != nil else { return }
        confirmations[channel] = nil
        if connection.isReady { submitUnsubscribe(channel) }
    }

    /// Forgets a channel whose subscription moved elsewhere; returns whoever still waits for its
    /// confirmation (they wait for the new node's).
    func release(_ channel: String) -> [() -> Void] {
        let waiting = confirmations.removeValue(forKey: channel) ?? []
        unsubscribe(channel)
        return waiting
    }

    private func keepAlive(then action: (() -> Void)?) {
        if send(["SUBSCRIBE", keepAliveChannel], replies: 1) { keepAliveActions.append(action) }
    }

    /// One classic SUBSCRIBE for all (registers hiredis' callbacks by name), then one SSUBSCRIBE per
    /// channel (a cluster refuses SSUBSCRIBE across slots) appended unregistered; two counted
    /// replies per channel.
    private func submitSubscribe(_ list: [String]) {
        guard send(["SUBSCRIBE"] + list, replies: list.count),
              append(list.map { ["SSUBSCRIBE", $0] }, replies: list.count) else { return }
        for channel in list { outstanding[channel, default: 0] += 1 }
    }

    /// UNSUBSCRIBE (hiredis drops the channel's callback on its reply), then SUNSUBSCRIBE appended
    /// unregistered: its reply is usually not delivered and never counted.
    private func submitUnsubscribe(_ channel: String) {
        guard send(["UNSUBSCRIBE", channel], replies: 1), append([["SUNSUBSCRIBE", channel]], replies: 0) else { return }
        outstanding[channel, default: 0] += 1
    }

    private func send(_ args: [String], replies: Int) -> Bool {
        // hiredis keeps the callback of a subscribed channel for every message on it and calls it
        // once more with no reply when the context is freed; it reaches us through the connection,
        // which outlives the context.
        let sent = connection.submit(args.map { Array($0.utf8) }, replies: replies, callback: { ac, reply, _ in
            guard let ac, let reply else { return }
            LibuvBridge.owner(of: ac).onPush?(UnsafePointer(reply.assumingMemoryBound(to: redisReply.self)))
        }, privdata: nil)
        return sent || broken(args[0])
    }

    private func append(_ commands: [[String]], replies: Int) -> Bool {
        connection.appendUnregistered(Self.format(commands), replies: replies) || broken(commands[0][0])
    }

    /// A ready connection that refuses a command is broken: reconnecting resubscribes every wanted
    /// channel, so no waiter is stranded.
    private func broken(_ command: String) -> Bool {
        if connection.isReady { connection.fail(.connection("\(command) could not be sent")) }
        return false
    }

    /// RESP arrays of bulk strings, back to back.
    static func format(_ commands: [[String]]) -> [UInt8] {
        var out: [UInt8] = []
        for command in commands {
            out += Array("*\(command.count)\r\n".utf8)
            for arg in command {
                let bytes = Array(arg.utf8)
                out += Array("$\(bytes.count)\r\n".utf8)
                out += bytes
                out += [13, 10]
            }
        }
        return out
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
        if kindBytes.elementsEqual("smessage".utf8) || kindBytes.elementsEqual("message".utf8) {
            onMessage?(name, UnsafeRawBufferPointer(start: third.pointee.str, count: Int(third.pointee.len)))
            return
        }
        if kindBytes.elementsEqual("subscribe".utf8) {
            // The classic half of a pair (or the keep-alive).
            connection.replyArrived()
            if name == keepAliveChannel, !keepAliveActions.isEmpty { keepAliveActions.removeFirst()?() }
            return
        }
        if kindBytes.elementsEqual("sunsubscribe".utf8) {
            // Ours is never counted; one for a channel we want and have no command out for is the
            // server's: the slot left this node.
            if channels.contains(name), outstanding[name] == nil { onMoved?(name) }
            return
        }
        let subscribed = kindBytes.elementsEqual("ssubscribe".utf8)
        guard subscribed || kindBytes.elementsEqual("unsubscribe".utf8) else { return }
        connection.replyArrived()
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
extension ShardSubscriber: Sendable {}
