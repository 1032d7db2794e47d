@testable import RedisClient
import XCTest

/// The pure parts of the cluster client: the slot function, the slot map from both replies,
/// redirects, where a command's key is, and the seed list.
final class ClusterRoutingTests: XCTestCase {
    func testSlotIsCRC16XmodemOfTheHashTag() {
        // Known answers from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        XCTAssertEqual(ClusterSlot.of("123456789"), 0x31C3 & 16383)
        XCTAssertEqual(ClusterSlot.of("foo"), 12182)
        XCTAssertEqual(ClusterSlot.of("{user1000}.following"), ClusterSlot.of("{user1000}.followers"))
        XCTAssertEqual(ClusterSlot.of("{user1000}.following"), ClusterSlot.of("user1000"))
        // An empty tag does not count: the whole key is hashed.
        XCTAssertEqual(ClusterSlot.of("foo{}{bar}"), ClusterSlot.of(Array("foo{}{bar}".utf8)))
        XCTAssertNotEqual(ClusterSlot.of("foo{}{bar}"), ClusterSlot.of("bar"))
        // Only the first tag counts.
        XCTAssertEqual(ClusterSlot.of("foo{{bar}}zap"), ClusterSlot.of("{bar"))
        XCTAssertEqual(ClusterSlot.of("foo{bar}{zap}"), ClusterSlot.of("bar"))
        XCTAssertEqual(ClusterSlot.of(""), 0)
        XCTAssertEqual(ClusterSlot.of("{"), ClusterSlot.of(Array("{".utf8)))
    }

    private func s(_ text: String) -> RedisValue { .string(Array(text.utf8)) }

    func testSlotMapFromClusterShards() throws {
        let reply: RedisValue = .array([
            .array([s("slots"), .array([.integer(0), .integer(5460)]), s("nodes"), .array([
                .array([s("id"), s("a"), s("port"), .integer(7001), s("ip"), s("127.0.0.1"), s("endpoint"), s("127.0.0.1"),
                        s("role"), s("master"), s("replication-offset"), .integer(1), s("health"), s("online")]),
                .array([s("id"), s("d"), s("port"), .integer(7004), s("ip"), s("127.0.0.1"), s("endpoint"), s("127.0.0.1"),
                        s("role"), s("replica"), s("replication-offset"), .integer(1), s("health"), s("online")]),
            ])]),
            // A failed master and its promoted replica: the online master wins; two ranges.
            .array([s("slots"), .array([.integer(5461), .integer(10922), .integer(10923), .integer(16383)]), s("nodes"), .array([
                .array([s("id"), s("b"), s("port"), .integer(7002), s("endpoint"), s("?"), s("role"), s("master"), s("health"), s("failed")]),
                .array([s("id"), s("e"), s("port"), .integer(7005), s("endpoint"), s("?"), s("role"), s("master"), s("health"), s("online")]),
            ])]),
            // A node without slots is no shard to route to.
            .array([s("slots"), .array([]), s("nodes"), .array([])]),
        ])
        let topology = try XCTUnwrap(ClusterTopology(shards: reply, seedHost: "10.0.0.9"))
        XCTAssertTrue(topology.coversAllSlots)
        XCTAssertEqual(topology.masters, [RedisNodeAddress(host: "10.0.0.9", port: 7005), RedisNodeAddress(host: "127.0.0.1", port: 7001)])
        XCTAssertEqual(topology.owner(of: 0)?.port, 7001)
        XCTAssertEqual(topology.owner(of: 5460)?.port, 7001)
        XCTAssertEqual(topology.owner(of: 5461)?.port, 7005)
        XCTAssertEqual(topology.owner(of: 16383)?.host, "10.0.0.9")
        XCTAssertNil(ClusterTopology(shards: .array([s("slots")]), seedHost: "x"), "a malformed reply is refused, not half-read")
    }

    func testSlotMapFromClusterSlotsAndMovedCorrections() throws {
        let reply: RedisValue = .array([
            .array([.integer(0), .integer(8000), .array([s("127.0.0.1"), .integer(7001), s("a")]), .array([s("127.0.0.1"), .integer(7004), s("d")])]),
            .array([.integer(8001), .integer(16383), .array([s(""), .integer(7002), s("b")])]),
        ])
        var topology = try XCTUnwrap(ClusterTopology(slots: reply, seedHost: "127.0.0.2"))
        XCTAssertTrue(topology.coversAllSlots)
        XCTAssertEqual(topology.owner(of: 8001), RedisNodeAddress(host: "127.0.0.2", port: 7002))
        topology.assign(5, to: RedisNodeAddress(host: "127.0.0.1", port: 7003))
        XCTAssertEqual(topology.owner(of: 5)?.port, 7003)
        XCTAssertEqual(topology.owner(of: 6)?.port, 7001)
        topology.assign(99_999, to: RedisNodeAddress(host: "127.0.0.1", port: 7003))
        let partial = try XCTUnwrap(ClusterTopology(slots: .array([reply.array![0]]), seedHost: "x"))
        XCTAssertFalse(partial.coversAllSlots)
        XCTAssertNil(partial.owner(of: 9000))
    }

    func testRedirectsAndKeyPositions() {
        let from = RedisNodeAddress(host: "127.0.0.1", port: 7001)
        XCTAssertEqual(RedisCluster.redirect("MOVED 3999 127.0.0.1:6381", kind: "MOVED ", from: from)?.slot, 3999)
        XCTAssertEqual(RedisCluster.redirect("MOVED 3999 127.0.0.1:6381", kind: "MOVED ", from: from)?.address.port, 6381)
        XCTAssertEqual(RedisCluster.redirect("ASK 12 :7009", kind: "ASK ", from: from)?.address, RedisNodeAddress(host: "127.0.0.1", port: 7009))
        XCTAssertNil(RedisCluster.redirect("MOVED 3999 127.0.0.1:6381", kind: "ASK ", from: from))
        XCTAssertNil(RedisCluster.redirect("MOVED x 127.0.0.1:6381", kind: "MOVED ", from: from))
        XCTAssertNil(RedisCluster.redirect("MOVED 1 127.0.0.1:99999", kind: "MOVED ", from: from))
        XCTAssertNil(RedisCluster.redirect("MOVED 1", kind: "MOVED ", from: from))

        func index(_ args: [String]) -> Int? { RedisCluster.keyIndex(args.map { Array($0.utf8) }) }
        XCTAssertEqual(index(["GET", "k"]), 1)
        XCTAssertEqual(index(["hmget", "k", "a"]), 1)
        XCTAssertEqual(index(["EVALSHA", "abc", "2", "k1", "k2", "arg"]), 3)
        XCTAssertNil(index(["EVALSHA", "abc", "0", "arg"]))
        XCTAssertNil(index(["EVAL", "return 1", "x"]))
        XCTAssertNil(index(["PING"]))
        XCTAssertNil(index(["WAIT", "1", "100"]))
        // The webhook queue's stream commands.
        XCTAssertEqual(index(["XGROUP", "CREATE", "att:{wh}:stream", "g", "0", "MKSTREAM"]), 2)
        XCTAssertEqual(index(["XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "att:{wh}:stream", ">"]), 7)
        XCTAssertNil(index(["XREADGROUP", "GROUP", "g", "c", "STREAMS"]))
        XCTAssertEqual(index(["XAUTOCLAIM", "att:{wh}:stream", "g", "c", "60000", "0-0"]), 1)
    }

    func testSeedList() throws {
        let configuration = try RedisConfiguration(clusterNodes: "127.0.0.1:7001, localhost:7002,10.0.0.3:7003")
        XCTAssertEqual(configuration.cluster.map(\.description), ["127.0.0.1:7001", "127.0.0.1:7002", "10.0.0.3:7003"])
        XCTAssertEqual(configuration.host, "127.0.0.1")
        XCTAssertEqual(configuration.port, 7001)
        for bad in ["", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":7001", "a:1,,b:2", "a:1,a:1", "a b:1", "a:1 "] {
            XCTAssertThrowsError(try RedisConfiguration(clusterNodes: bad), bad)
        }
    }
}
