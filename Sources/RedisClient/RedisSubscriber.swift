@preconcurrency import CHiredis
import EventLoop
import Logging

/// The one pub/sub connection of a process (or worker): subscribes to channels while anyone local
/// listens and hands each message to `onMessage` without copying. After a reconnect it subscribes
/// to every channel again and then calls `onResubscribed`, so the owner can replay, from the
/// durable streams, what was published while it was away.
public final class RedisSubscriber {
    let connection: HiredisConnection
    private var channels: Set<String> = []
    private var confirmations: [String: [() -> Void]] = [:]

    /// The payload pointer is valid only during the call.
    public var onMessage: ((_ channel: String, _ payload: UnsafeRawBufferPointer) -> Void)?
    /// Every channel was subscribed again after the connection came back.
    public var onResubscribed: (() -> Void)?
    /// True when connected, false when the connection is lost.
    public var onStateChange: ((Bool) -> Void)?

    public init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        connection = HiredisConnection(loop: loop, configuration: configuration, logger: logger)
        connection.onConnected = { [unowned self] in
            self.onStateChange?(true)
            guard !self.channels.isEmpty else { return }
            let all = Array(self.channels)
            if self.connection.reconnects > 0 {
                // Redis answers one SUBSCRIBE per channel in order: the last confirmation means all are back.
                self.confirmations[all.last!, default: []].append { [weak self] in self?.onResubscribed?() }
            }
            self.submit("SUBSCRIBE", all)
        }
        connection.onDisconnected = { [unowned self] _ in
            // Waiters for a confirmation will get it after the resubscribe.
            self.onStateChange?(false)
        }
    }

    public func connect() { connection.connect() }
    public func close() { connection.close() }
    public var isConnected: Bool { connection.isConnected }
    public var reconnects: Int { connection.reconnects }

    /// Subscribes; `confirmed` runs once Redis has confirmed the subscription (messages published
    /// after that point are delivered). While disconnected it runs after the reconnect.
    public func subscribe(_ channel: String, confirmed: (() -> Void)? = nil) {
        if let confirmed { confirmations[channel, default: []].append(confirmed) }
        guard channels.insert(channel).inserted else {
            // Already subscribed (or pending): confirm right away unless a confirmation is outstanding.
            if confirmed != nil, connection.isConnected, !pendingSubscribe.contains(channel) {
                fireConfirmations(channel)
            }
            return
        }
        pendingSubscribe.insert(channel)
        if connection.isConnected { submit("SUBSCRIBE", [channel]) }
    }

    private var pendingSubscribe: Set<String> = []

    public func unsubscribe(_ channel: String) {
        guard channels.remove(channel) != nil else { return }
        confirmations[channel] = nil
        pendingSubscribe.remove(channel)
        if connection.isConnected { submit("UNSUBSCRIBE", [channel]) }
    }

    private func submit(_ command: String, _ channelList: [String]) {
        let args = [Array(command.utf8)] + channelList.map { Array($0.utf8) }
        _ = connection.submit(args, callback: { _, reply, privdata in
            guard let reply, let privdata else { return }
            let me = Unmanaged<RedisSubscriber>.fromOpaque(privdata).takeUnretainedValue()
            me.handle(reply.assumingMemoryBound(to: redisReply.self).pointee)
        }, privdata: Unmanaged.passUnretained(self).toOpaque())
    }

    private func handle(_ reply: redisReply) {
        guard reply.type == REDIS_REPLY_ARRAY, reply.elements >= 3,
              let kind = reply.element[0], let channel = reply.element[1], let third = reply.element[2] else {
            if reply.type == REDIS_REPLY_ERROR {
                connection.logger.error("redis subscribe error: \(RedisValue(withUnsafePointer(to: reply) { $0 }))")
            }
            return
        }
        let kindBytes = UnsafeRawBufferPointer(start: kind.pointee.str, count: Int(kind.pointee.len))
        let name = String(decoding: UnsafeRawBufferPointer(start: channel.pointee.str, count: Int(channel.pointee.len)), as: UTF8.self)
        if kindBytes.elementsEqual("message".utf8) {
            onMessage?(name, UnsafeRawBufferPointer(start: third.pointee.str, count: Int(third.pointee.len)))
        } else if kindBytes.elementsEqual("subscribe".utf8) {
            pendingSubscribe.remove(name)
            fireConfirmations(name)
        }
    }

    private func fireConfirmations(_ channel: String) {
        guard let waiting = confirmations.removeValue(forKey: channel) else { return }
        for callback in waiting { callback() }
    }
}

@available(*, unavailable)
extension RedisSubscriber: Sendable {}
