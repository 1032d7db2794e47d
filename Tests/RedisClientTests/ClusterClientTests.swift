import EventLoop
import Logging
import RedisClient
import TestSupport
import XCTest

/// The cluster client and the shard-channel subscriber against a real local Redis Cluster (three
/// masters, three replicas): routing by slot, scripts per node, SCAN across masters, a slot moved
/// by hand under them, and a master killed with `kill -9`.
final class ClusterClientTests: XCTestCase {
    let logger = Logger(label: "test")
    var cluster: LocalRedisCluster!
    var loop: EventLoop!

    override func setUpWithError() throws {
        cluster = try LocalRedisCluster()
        loop = try EventLoop()
    }

    override func tearDown() {
        cluster?.stop()
        cluster = nil
        loop = nil
    }

    private var configuration: RedisConfiguration {
        get throws { try RedisConfiguration(clusterNodes: cluster.nodeList) }
    }

    private func result(timeoutMs: Int = 10_000, _ start: (@escaping RedisClient.Completion) -> Void) -> Result<RedisValue, RedisError>? {
        var result: Result<RedisValue, RedisError>?
        start { result = $0 }
        runLoop(loop, timeoutMs: timeoutMs) { result != nil }
        return result
    }

    private func connectedPair() throws -> (RedisClient, RedisSubscriber) {
        let client = RedisClient(loop: loop, configuration: try configuration, logger: logger)
        let subscriber = RedisSubscriber(loop: loop, configuration: try configuration, logger: logger)
        client.connect()
        subscriber.connect()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { client.isConnected && subscriber.isConnected })
        return (client, subscriber)
    }

    func testCommandsScriptsScanAndShardChannelsAcrossTheMasters() throws {
        let (client, subscriber) = try connectedPair()
        defer { client.close(); subscriber.close() }

        // Keys in many slots: each lands on the master of its slot.
        for i in 0..<60 { XCTAssertEqual(try result { client.send(["SET", "t:{k\(i)}:x", "v\(i)"], completion: $0) }?.get(), .status("OK")) }
        for i in 0..<60 { XCTAssertEqual(try result { client.send(["GET", "t:{k\(i)}:x"], completion: $0) }?.get().text, "v\(i)") }
        let masters = cluster.nodes().filter { $0.isMaster }
        XCTAssertEqual(masters.count, 3)
        for master in masters { XCTAssertGreaterThan(Int(cluster.server(port: master.port)!.cli("DBSIZE")) ?? 0, 0, "keys on every master") }

        // A two-key script within one slot; the script is loaded on that master only.
        let script = RedisScript("redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return redis.call('GET', KEYS[2])")
        XCTAssertEqual(try result { client.evalScript(script, keys: ["t:{k7}:a", "t:{k7}:b"], args: ["s"], completion: $0) }?.get().text, "s")
        let owner = try XCTUnwrap(cluster.master(ofSlot: cluster.slot(of: "t:{k7}:a")))
        XCTAssertEqual(cluster.server(port: owner.port)!.cli("SCRIPT", "EXISTS", script.sha1), "1")
        guard case .failure(.reply(let crossSlot)) = result({ client.evalScript(script, keys: ["t:{k1}:a", "t:{k2}:b"], args: ["s"], completion: $0) }) else {
            return XCTFail("a script across slots must fail")
        }
        XCTAssertTrue(crossSlot.hasPrefix("CROSSSLOT"), crossSlot)

        // SCAN walks every master.
        var cursor = "0"
        var found = Set<String>()
        repeat {
            let reply = try XCTUnwrap(result { client.send(["SCAN", cursor, "MATCH", "t:{k*}:x", "COUNT", "7"], completion: $0) }?.get().array)
            cursor = try XCTUnwrap(reply[0].text)
            for key in reply[1].array ?? [] { found.insert(key.text ?? "") }
        } while cursor != "0"
        XCTAssertEqual(found, Set((0..<60).map { "t:{k\($0)}:x" }))

        // Shard channels: each subscribed at its slot's master, SPUBLISH reaches it.
        var received: [String: [String]] = [:]
        subscriber.onMessage = { channel, payload in received[channel, default: []].append(String(decoding: payload, as: UTF8.self)) }
        var resubscribed = 0
        subscriber.onResubscribed = { resubscribed += 1 }
        let channels = (0..<10).map { "c:{k\($0)}:live" }
        var confirmed = 0
        for channel in channels { subscriber.subscribe(channel) { confirmed += 1 } }
        XCTAssertTrue(runLoop(loop) { confirmed == channels.count })
        for channel in channels { XCTAssertEqual(try result { client.send(["SPUBLISH", channel, "one"], completion: $0) }?.get(), .integer(1)) }
        XCTAssertTrue(runLoop(loop) { channels.allSatisfy { received[$0] == ["one"] } }, "\(received)")

        // Move the slot of one channel (and key) to another master while both are in use.
        let moving = channels[3]
        let slot = cluster.slot(of: moving)
        let source = try XCTUnwrap(cluster.master(ofSlot: slot))
        let target = try XCTUnwrap(masters.first { $0.id != source.id })
        try cluster.migrate(slot: slot, to: target)
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { resubscribed >= 1 }, "the server's sunsubscribe moves the channel")
        XCTAssertEqual(try result { client.send(["SPUBLISH", moving, "two"], completion: $0) }?.get(), .integer(1), "subscribed at the new master")
        XCTAssertTrue(runLoop(loop) { received[moving] == ["one", "two"] }, "\(received[moving] ?? [])")
        XCTAssertEqual(try result { client.send(["GET", "t:{k3}:x"], completion: $0) }?.get().text, "v3", "MOVED is followed")
        XCTAssertEqual(try result { client.evalScript(script, keys: ["t:{k3}:a", "t:{k3}:b"], args: ["m"], completion: $0) }?.get().text, "m",
                       "the script is loaded on the new master (NOSCRIPT, then EVAL)")

        // Unsubscribed: nothing more arrives, the other channels still do.
        subscriber.unsubscribe(channels[0])
        XCTAssertTrue(runLoop(loop) { (try? self.result { client.send(["SPUBLISH", channels[0], "gone"], completion: $0) }?.get()) == .integer(0) })
        XCTAssertEqual(try result { client.send(["SPUBLISH", channels[1], "still"], completion: $0) }?.get(), .integer(1))
        XCTAssertTrue(runLoop(loop) { received[channels[1]] == ["one", "still"] })
        XCTAssertEqual(received[channels[0]], ["one"])
    }

    func testMasterKilledReplicaPromotedCommandsAndMessagesResume() throws {
        let (client, subscriber) = try connectedPair()
        defer { client.close(); subscriber.close() }
        let channel = "c:{fail}:live"
        var received: [String] = []
        subscriber.onMessage = { _, payload in received.append(String(decoding: payload, as: UTF8.self)) }
        var confirmed = false
        subscriber.subscribe(channel) { confirmed = true }
        XCTAssertTrue(runLoop(loop) { confirmed })
        // With replica durability the write is acknowledged once the slot's replica has it (WAIT on
        // the connection that wrote): it survives the fail-over.
        var durable = try configuration
        durable.durability = .replica
        let writer = RedisClient(loop: loop, configuration: durable, logger: logger)
        writer.connect()
        defer { writer.close() }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { writer.isConnected })
        let write = RedisScript("return redis.call('SET', KEYS[1], ARGV[1])", writes: true)
        XCTAssertEqual(try result { writer.evalScript(write, keys: ["t:{fail}:x"], args: ["before"], completion: $0) }?.get(), .status("OK"))

        let slot = cluster.slot(of: channel)
        let victim = try XCTUnwrap(cluster.master(ofSlot: slot))
        cluster.server(port: victim.port)!.kill9()
        // Commands fail while no master serves the slot, and succeed once the replica took over.
        var value: String?
        XCTAssertTrue(runLoop(loop, timeoutMs: 30_000) {
            if case .success(let v) = self.result(timeoutMs: 3000, { client.send(["GET", "t:{fail}:x"], completion: $0) }) { value = v.text ?? "(nil)" }
            return value != nil
        }, "reads resume after the fail-over")
        XCTAssertEqual(value, "before")
        let promoted = try XCTUnwrap(cluster.master(ofSlot: slot))
        XCTAssertNotEqual(promoted.port, victim.port)
        // The subscription follows to the promoted master.
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) {
            (try? self.result { client.send(["SPUBLISH", channel, "after"], completion: $0) }?.get()) == .integer(1)
        })
        XCTAssertTrue(runLoop(loop) { received.last == "after" })
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { client.isConnected && subscriber.isHealthy })
    }
}
