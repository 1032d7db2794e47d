import EventLoop
import Logging

/// The pub/sub side of a process (or worker): subscribes to shard channels (SSUBSCRIBE; Redis 7+)
/// while anyone local listens, and hands each message to `onMessage` without copying. On a single
/// Redis that is one `ShardSubscriber`; with `configuration.cluster` set, a `ClusterSubscriber`
/// keeps one per master and follows the channels' slots.
///
/// After a connection came back, or a channel moved to another node, every affected channel is
/// subscribed again and then `onResubscribed` runs, so the owner can replay, from the durable
/// streams, what was published meanwhile.
public final class RedisSubscriber {
    private let single: ShardSubscriber?
    private let cluster: ClusterSubscriber?

    public init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        if configuration.cluster.isEmpty {
            let shard = ShardSubscriber(loop: loop, configuration: configuration, logger: logger)
            // A single Redis never moves a channel; should it end one anyway, take it again.
            shard.onMoved = { [weak shard] channel in
                guard let shard else { return }
                let waiting = shard.release(channel)
                shard.subscribe(channel) { [weak shard] in
                    for callback in waiting { callback() }
                    shard?.onResubscribed?()
                }
            }
            single = shard
            cluster = nil
        } else {
            single = nil
            cluster = ClusterSubscriber(loop: loop, configuration: configuration, logger: logger)
        }
    }

    /// The payload pointer is valid only during the call.
    public var onMessage: ((_ channel: String, _ payload: UnsafeRawBufferPointer) -> Void)? {
        didSet { single?.onMessage = onMessage; cluster?.onMessage = onMessage }
    }
    /// Channels were subscribed again after a reconnect or a slot move.
    public var onResubscribed: (() -> Void)? {
        didSet { single?.onResubscribed = onResubscribed; cluster?.onResubscribed = onResubscribed }
    }
    /// True when connected, false when a connection is lost.
    public var onStateChange: ((Bool) -> Void)? {
        didSet { single?.onStateChange = onStateChange; cluster?.onStateChange = onStateChange }
    }

    public func connect() { single?.connect(); cluster?.connect() }
    public func close() { single?.close(); cluster?.close() }
    public var isConnected: Bool { single?.isConnected ?? cluster!.isConnected }
    /// Connected, and no confirmation overdue.
    public var isHealthy: Bool { single?.isHealthy ?? cluster!.isHealthy }
    public var reconnects: Int { single?.reconnects ?? cluster!.reconnects }

    /// Subscribes; `confirmed` runs once Redis has confirmed the subscription (messages published
    /// after that point are delivered). While disconnected it runs after the reconnect.
    public func subscribe(_ channel: String, confirmed: (() -> Void)? = nil) {
        if let single { single.subscribe(channel, confirmed: confirmed) } else { cluster!.subscribe(channel, confirmed: confirmed) }
    }

    public func unsubscribe(_ channel: String) {
        if let single { single.unsubscribe(channel) } else { cluster!.unsubscribe(channel) }
    }
}

@available(*, unavailable)
extension RedisSubscriber: Sendable {}
