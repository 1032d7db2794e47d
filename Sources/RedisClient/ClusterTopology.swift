/// Which master serves each of the 16384 slots, as `CLUSTER SHARDS` (Redis 7) or `CLUSTER SLOTS`
/// reported it, with single-slot corrections from `MOVED` replies in between.
struct ClusterTopology: Equatable {
    /// The masters, sorted (a stable order for SCAN's composite cursor).
    private(set) var masters: [RedisNodeAddress] = []
    /// Index into `masters` per slot; -1 where no master serves the slot.
    private var owners = [Int16](repeating: -1, count: ClusterSlot.count)

    init() {}

    var isEmpty: Bool { masters.isEmpty }
    /// Every slot has a master.
    var coversAllSlots: Bool { !owners.contains(-1) }

    func owner(of slot: Int) -> RedisNodeAddress? {
        let index = owners[slot]
        return index < 0 ? nil : masters[Int(index)]
    }

    /// A `MOVED` reply: the slot lives at `address` now (the full picture follows with a refresh).
    mutating func assign(_ slot: Int, to address: RedisNodeAddress) {
        guard (0..<ClusterSlot.count).contains(slot) else { return }
        if let index = masters.firstIndex(of: address) {
            owners[slot] = Int16(index)
        } else if masters.count < Int(Int16.max) {
            masters.append(address)
            owners[slot] = Int16(masters.count - 1)
        }
    }

    private mutating func build(_ ranges: [(start: Int, end: Int, master: RedisNodeAddress)]) {
        masters = Array(Set(ranges.map(\.master))).sorted()
        let index = Dictionary(uniqueKeysWithValues: masters.enumerated().map { ($1, Int16($0)) })
        for range in ranges where range.start <= range.end && range.start >= 0 && range.end < ClusterSlot.count {
            for slot in range.start...range.end { owners[slot] = index[range.master]! }
        }
    }

    /// From `CLUSTER SHARDS`: per shard a map with `slots` (start, end pairs) and `nodes` (maps with
    /// `ip`/`endpoint`, `port`, `role`, `health`). `seedHost` stands in for an unknown endpoint ("?").
    init?(shards reply: RedisValue, seedHost: String) {
        guard let shards = reply.array else { return nil }
        var ranges: [(Int, Int, RedisNodeAddress)] = []
        for shard in shards {
            guard let fields = Self.map(shard), let slots = fields["slots"]?.array, let nodes = fields["nodes"]?.array else { return nil }
            guard !slots.isEmpty else { continue }
            let master = nodes.lazy.compactMap(Self.map).first {
                $0["role"]?.text == "master" && ($0["health"]?.text ?? "online") == "online"
            }
            guard let master, let port = master["port"]?.int, let host = Self.host(master["endpoint"]?.text ?? master["ip"]?.text, seedHost: seedHost),
                  (1...65535).contains(port) else { continue }
            var i = 0
            while i + 1 < slots.count {
                guard let start = slots[i].int, let end = slots[i + 1].int else { return nil }
                ranges.append((Int(start), Int(end), RedisNodeAddress(host: host, port: Int(port))))
                i += 2
            }
        }
        build(ranges)
    }

    /// From `CLUSTER SLOTS`: `[start, end, [ip, port, id], replicas…]` per range.
    init?(slots reply: RedisValue, seedHost: String) {
        guard let entries = reply.array else { return nil }
        var ranges: [(Int, Int, RedisNodeAddress)] = []
        for entry in entries {
            guard let items = entry.array, items.count >= 3, let start = items[0].int, let end = items[1].int,
                  let node = items[2].array, node.count >= 2, let port = node[1].int, (1...65535).contains(port),
                  let host = Self.host(node[0].text, seedHost: seedHost) else { return nil }
            ranges.append((Int(start), Int(end), RedisNodeAddress(host: host, port: Int(port))))
        }
        build(ranges)
    }

    private static func host(_ text: String?, seedHost: String) -> String? {
        guard let text else { return nil }
        // An empty or "?" endpoint means "the address you reached me at".
        return text.isEmpty || text == "?" ? seedHost : text
    }

    private static func map(_ value: RedisValue) -> [String: RedisValue]? {
        guard let items = value.array, items.count % 2 == 0 else { return nil }
        var out: [String: RedisValue] = [:]
        var i = 0
        while i < items.count {
            guard let key = items[i].text else { return nil }
            out[key] = items[i + 1]
            i += 2
        }
        return out
    }
}
