import EventLoop
import Logging

/// Shard channels across a Redis Cluster: one `ShardSubscriber` per master, each channel
/// subscribed at the master of its slot (its own `RedisCluster` keeps the slot map).
///
/// A channel moves when the map says its slot has another master (a fail-over, a migration), or
/// when its node ends the subscription (`sunsubscribe` from the server: the slot left it). It is
/// then unsubscribed where it was, subscribed at the new master, and once that is confirmed
/// `onResubscribed` runs: the owner replays from the stream what was published in between (the
/// replay skips what it already delivered, so nothing repeats).
final class ClusterSubscriber {
    private let loop: EventLoop
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let cluster: RedisCluster
    private var shards: [RedisNodeAddress: ShardSubscriber] = [:]
    /// Wanted channels → the node they are subscribed at (nil: waiting for the slot map).
    private var placement: [String: RedisNodeAddress?] = [:]
    /// Confirmations of channels not placed yet.
    private var parked: [String: [() -> Void]] = [:]
    /// Channels whose node ended the subscription → that node and how often the map still named
    /// it since: the map catches up within a refresh or two.
    private var leaving: [String: (node: RedisNodeAddress, refreshes: Int)] = [:]
    private var retiredReconnects = 0

    var onMessage: ((_ channel: String, _ payload: UnsafeRawBufferPointer) -> Void)? {
        didSet { for shard in shards.values { shard.onMessage = onMessage } }
    }
    var onResubscribed: (() -> Void)?
    var onStateChange: ((Bool) -> Void)?

    init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        cluster = RedisCluster(loop: loop, configuration: configuration, logger: logger)
        cluster.onTopologyChange = { [weak self] in self?.place() }
        cluster.onStateChange = { [weak self] up in
            guard let self else { return }
            if up { self.place() }
            self.onStateChange?(up && self.isConnected)
        }
    }

    func connect() { cluster.connect() }

    func close() {
        cluster.close()
        for shard in shards.values { shard.close() }
    }

    /// Every master has a connected subscriber, as has every node still holding channels.
    var isConnected: Bool {
        cluster.isConnected && cluster.topology.masters.allSatisfy { shards[$0]?.isConnected == true }
            && shards.values.allSatisfy { $0.channels.isEmpty || $0.isConnected }
    }
    var isHealthy: Bool {
        cluster.isHealthy && parked.isEmpty && cluster.topology.masters.allSatisfy { shards[$0]?.isHealthy == true }
            && shards.values.allSatisfy { $0.channels.isEmpty || $0.isHealthy }
    }
    var reconnects: Int { shards.values.reduce(retiredReconnects + cluster.reconnects) { $0 + $1.reconnects } }

    func subscribe(_ channel: String, confirmed: (() -> Void)?) {
        if let node = placement[channel] ?? nil {
            shards[node]?.subscribe(channel, confirmed: confirmed)
            return
        }
        if let confirmed { parked[channel, default: []].append(confirmed) }
        guard placement[channel] == nil else { return }
        placement[channel] = .some(nil)
        place(channel)
    }

    func unsubscribe(_ channel: String) {
        guard let node = placement.removeValue(forKey: channel) else { return }
        parked[channel] = nil
        leaving[channel] = nil
        if let node { shards[node]?.unsubscribe(channel) }
    }

    /// Puts every channel at its slot's master (after the map changed or came back).
    private func place() {
        // A connection to every master from the start: a channel's first subscription there need
        // not wait for a connect (and health does not dip while it would).
        for master in cluster.topology.masters { _ = shard(master) }
        for channel in Array(placement.keys) { place(channel) }
        // Shards left without channels on nodes that are no longer masters go away.
        for (node, shard) in shards where shard.channels.isEmpty && !cluster.topology.masters.contains(node) {
            retiredReconnects += shard.reconnects
            shard.close()
            shards[node] = nil
        }
    }

    private func place(_ channel: String) {
        guard let current = placement[channel], let owner = cluster.master(ofSlot: ClusterSlot.of(channel)) else { return }
        if current == owner { return }
        if let left = leaving[channel], left.node == owner, left.refreshes < 10 {
            // The map has not caught up with the move yet.
            leaving[channel] = (left.node, left.refreshes + 1)
            cluster.refreshSoon()
            return
        }
        // A channel its node ended (`leaving`) or one placed elsewhere before moved: replay.
        let moved = current != nil || leaving[channel] != nil
        leaving[channel] = nil
        var waiting = parked.removeValue(forKey: channel) ?? []
        if let current, let old = shards[current] { waiting += old.release(channel) }
        placement[channel] = owner
        shard(owner).subscribe(channel) { [weak self] in
            for callback in waiting { callback() }
            if moved {
                self?.logger.info("redis cluster: \(channel) now subscribed at \(owner)")
                self?.onResubscribed?()
            }
        }
    }

    /// The server at `node` ended the channel's subscription: its slot is elsewhere now.
    private func moved(_ channel: String, from node: RedisNodeAddress) {
        guard case .some(.some(node)) = placement[channel] else { return }
        parked[channel, default: []] += shards[node]?.release(channel) ?? []
        placement[channel] = .some(nil)
        leaving[channel] = (node, 0)
        cluster.refreshSoon()
        place(channel)
    }

    private func shard(_ node: RedisNodeAddress) -> ShardSubscriber {
        if let shard = shards[node] { return shard }
        let shard = ShardSubscriber(loop: loop, configuration: configuration.node(node), logger: logger)
        shard.onMessage = onMessage
        shard.onResubscribed = { [weak self] in self?.onResubscribed?() }
        shard.onStateChange = { [weak self] up in
            guard let self else { return }
            // A lost shard connection may be a dead master: the map tells where its slots went.
            if !up { self.cluster.refreshSoon() }
            self.onStateChange?(up && self.isConnected)
        }
        shard.onMoved = { [weak self] channel in self?.moved(channel, from: node) }
        shards[node] = shard
        shard.connect()
        return shard
    }
}

@available(*, unavailable)
extension ClusterSubscriber: Sendable {}
