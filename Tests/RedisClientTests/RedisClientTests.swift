import EventLoop
import Logging
import RedisClient
import TestSupport
import XCTest

final class RedisClientTests: XCTestCase {
    let logger = Logger(label: "test")

    private func connected(_ loop: EventLoop, _ server: RedisServer) -> RedisClient {
        let client = RedisClient(loop: loop, configuration: RedisConfiguration(host: server.host, port: server.port), logger: logger)
        client.connect()
        XCTAssertTrue(runLoop(loop) { client.isConnected })
        return client
    }

    private func wait(_ loop: EventLoop, _ start: (@escaping RedisClient.Completion) -> Void) -> Result<RedisValue, RedisError>? {
        var result: Result<RedisValue, RedisError>?
        start { result = $0 }
        runLoop(loop) { result != nil }
        return result
    }

    func testCommandsRepliesAndErrors() throws {
        let loop = try EventLoop()
        let client = connected(loop, RedisServer.shared)
        defer { client.close() }
        let key = "test:rc:\(UInt32.random(in: 0...UInt32.max))"
        XCTAssertEqual(try wait(loop) { client.send(["SET", key, "v\r\n\u{0}x"], completion: $0) }?.get(), .status("OK"))
        XCTAssertEqual(try wait(loop) { client.send(["GET", key], completion: $0) }?.get().text, "v\r\n\u{0}x")
        XCTAssertEqual(try wait(loop) { client.send(["DEL", key], completion: $0) }?.get(), .integer(1))
        XCTAssertEqual(try wait(loop) { client.send(["GET", key], completion: $0) }?.get(), .null)
        XCTAssertEqual(try wait(loop) { client.send(["RPUSH", key, "a", "b"], completion: $0) }?.get(), .integer(2))
        XCTAssertEqual(try wait(loop) { client.send(["LRANGE", key, "0", "-1"], completion: $0) }?.get(),
                       .array([.string(Array("a".utf8)), .string(Array("b".utf8))]))
        guard case .failure(.reply(let message)) = wait(loop, { client.send(["NOSUCHCOMMAND"], completion: $0) }) else {
            return XCTFail("an unknown command must fail with the server's error")
        }
        XCTAssertTrue(message.hasPrefix("ERR"), message)
    }

    func testPipelinedRepliesKeepOrder() throws {
        let loop = try EventLoop()
        let client = connected(loop, RedisServer.shared)
        defer { client.close() }
        var replies: [Int64] = []
        for i in 0..<500 { client.send(["ECHO", String(i)]) { replies.append(try! $0.get().int!) } }
        XCTAssertTrue(runLoop(loop) { replies.count == 500 })
        XCTAssertEqual(replies, (0..<500).map(Int64.init))
    }

    func testScriptFallsBackToEvalThenUsesSha() throws {
        let loop = try EventLoop()
        let server = RedisServer.shared
        let client = connected(loop, server)
        defer { client.close() }
        let script = RedisScript("return {KEYS[1], ARGV[1], \(UInt32.random(in: 0...UInt32.max))}")
        XCTAssertEqual(server.cli("SCRIPT", "EXISTS", script.sha1), "0")
        let first = try wait(loop) { client.evalScript(script, keys: ["k"], args: ["a"], completion: $0) }?.get()
        XCTAssertEqual(first?.array?.first, .string(Array("k".utf8)))
        XCTAssertEqual(server.cli("SCRIPT", "EXISTS", script.sha1), "1", "EVAL caches the script for EVALSHA")
        let second = try wait(loop) { client.evalScript(script, keys: ["k"], args: ["b"], completion: $0) }?.get()
        XCTAssertEqual(second?.array?[1], .string(Array("b".utf8)))
        let failing = RedisScript("return redis.error_reply('class_closed the class is closed')")
        guard case .failure(.reply(let message)) = wait(loop, { client.evalScript(failing, keys: [], args: [String](), completion: $0) }) else {
            return XCTFail("a script's error_reply must surface")
        }
        XCTAssertEqual(message, "class_closed the class is closed")
    }

    func testPubSubDeliversPayloadBytes() throws {
        let loop = try EventLoop()
        let server = RedisServer.shared
        let client = connected(loop, server)
        let subscriber = RedisSubscriber(loop: loop, configuration: RedisConfiguration(host: server.host, port: server.port), logger: logger)
        defer { client.close(); subscriber.close() }
        subscriber.connect()
        var received: [(String, [UInt8])] = []
        subscriber.onMessage = { channel, payload in received.append((channel, Array(payload))) }
        var confirmed = false
        subscriber.subscribe("ch:a") { confirmed = true }
        XCTAssertTrue(runLoop(loop) { confirmed })
        subscriber.subscribe("ch:b")
        var published = 0
        client.send(["SPUBLISH", "ch:a", "{\"x\":1}"]) { _ in published += 1 }
        client.send(["SPUBLISH", "ch:c", "nobody"]) { _ in published += 1 }
        XCTAssertTrue(runLoop(loop) { received.count == 1 && published == 2 })
        XCTAssertEqual(received.first?.0, "ch:a")
        XCTAssertEqual(received.first?.1, Array("{\"x\":1}".utf8))
        subscriber.unsubscribe("ch:a")
        var unsubscribedCount: Int64 = -1
        // Once PUBSUB SHARDNUMSUB reports 0 for ch:a, a publish must not arrive.
        XCTAssertTrue(runLoop(loop) {
            client.send(["PUBSUB", "SHARDNUMSUB", "ch:a"]) { unsubscribedCount = (try? $0.get().array?[1].int) ?? -1 }
            return unsubscribedCount == 0
        })
        client.send(["SPUBLISH", "ch:a", "late"]) { _ in published += 1 }
        client.send(["SPUBLISH", "ch:b", "b"]) { _ in published += 1 }
        XCTAssertTrue(runLoop(loop) { received.count == 2 })
        XCTAssertEqual(received.map(\.0), ["ch:a", "ch:b"])
    }

    func testReconnectsAndResubscribesAfterRedisRestart() throws {
        let loop = try EventLoop()
        let server = try RedisServer()
        defer { server.stop() }
        let client = connected(loop, server)
        let subscriber = RedisSubscriber(loop: loop, configuration: RedisConfiguration(host: server.host, port: server.port), logger: logger)
        defer { client.close(); subscriber.close() }
        var states: [Bool] = []
        client.onStateChange = { states.append($0) }
        subscriber.connect()
        var resubscribed = 0
        subscriber.onResubscribed = { resubscribed += 1 }
        var messages: [[UInt8]] = []
        subscriber.onMessage = { _, payload in messages.append(Array(payload)) }
        var confirmed = false
        subscriber.subscribe("room") { confirmed = true }
        XCTAssertTrue(runLoop(loop) { confirmed })

        server.stop()
        XCTAssertTrue(runLoop(loop) { !client.isConnected && !subscriber.isConnected })
        var failure: Result<RedisValue, RedisError>?
        client.send(["PING"]) { failure = $0 }
        XCTAssertEqual(failure.map { if case .failure(.disconnected) = $0 { true } else { false } }, true,
                       "commands while disconnected fail at once")

        try server.start()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { client.isConnected && resubscribed == 1 })
        XCTAssertEqual(states, [false, true])
        XCTAssertEqual(client.reconnects, 1)
        client.send(["SPUBLISH", "room", "back"]) { _ in }
        XCTAssertTrue(runLoop(loop) { messages.count == 1 })
        XCTAssertEqual(messages, [Array("back".utf8)])
    }

    /// hiredis 0.14 has no notion of shard channels (see ShardSubscriber): replies it routes
    /// differently from ours would leave a counted reply unanswered, and the command timeout would
    /// drop the connection. Subscribe/unsubscribe churn, overlapping and repeated, over a connection
    /// with a short timeout and keep-alive must leave it healthy, never reconnected, and delivering.
    func testShardChannelChurnKeepsTheConnectionHealthy() throws {
        let loop = try EventLoop()
        let server = RedisServer.shared
        var configuration = RedisConfiguration(host: server.host, port: server.port)
        configuration.commandTimeoutMs = 300
        configuration.keepAliveMs = 50
        let client = connected(loop, server)
        let subscriber = RedisSubscriber(loop: loop, configuration: configuration, logger: logger)
        defer { client.close(); subscriber.close() }
        subscriber.connect()
        XCTAssertTrue(runLoop(loop) { subscriber.isConnected })
        var received: [String] = []
        subscriber.onMessage = { channel, _ in received.append(channel) }
        let prefix = "churn:\(UInt32.random(in: 0...UInt32.max)):"
        for round in 0..<200 {
            let channel = prefix + String(round % 7)
            subscriber.subscribe(channel)
            if round % 3 == 0 { subscriber.unsubscribe(channel) }
            if round % 5 == 0 { subscriber.unsubscribe(prefix + String((round + 1) % 7)) }
        }
        var confirmed = false
        subscriber.subscribe(prefix + "last") { confirmed = true }
        XCTAssertTrue(runLoop(loop) { confirmed })
        // Several keep-alive rounds and command timeouts long.
        runLoop(loop, timeoutMs: 1500) { false }
        XCTAssertEqual(subscriber.reconnects, 0, "no reply was left unanswered")
        XCTAssertTrue(subscriber.isHealthy)
        var published: Int64 = -1
        client.send(["SPUBLISH", prefix + "last", "x"]) { published = (try? $0.get().int) ?? -2 }
        XCTAssertTrue(runLoop(loop) { published >= 0 })
        XCTAssertEqual(published, 1, "one shard subscriber")
        XCTAssertTrue(runLoop(loop) { received.last == prefix + "last" })
    }

    func testURLParsing() throws {
        let c = try RedisConfiguration(url: "redis://:pw@10.1.2.3:6380/2")
        XCTAssertEqual(c, RedisConfiguration(host: "10.1.2.3", port: 6380, password: "pw", database: 2))
        XCTAssertEqual(try RedisConfiguration(url: "redis://localhost"), RedisConfiguration(host: "127.0.0.1", port: 6379))
        XCTAssertThrowsError(try RedisConfiguration(url: "http://x"))
        XCTAssertThrowsError(try RedisConfiguration(url: "redis://h:notaport"))
    }
}
