import EventLoop
import Glibc
import Logging
import RedisClient
import TestSupport
import XCTest

/// The client against real faults of a real redis-server: kill -9, refused connects, resets,
/// SIGSTOP stalls. Every server here is private to its test and is resumed and stopped in teardown.
final class RedisFaultTests: XCTestCase {
    let logger: Logger = {
        var logger = Logger(label: "fault-test")
        logger.logLevel = .critical
        return logger
    }()

    /// Short but not tight: a loaded CI machine must not time out a healthy command.
    func configuration(port: Int, timeoutMs: UInt64 = 1000) -> RedisConfiguration {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: port)
        configuration.commandTimeoutMs = timeoutMs
        configuration.keepAliveMs = 250
        return configuration
    }

    func privateServer(arguments: [String] = []) throws -> RedisServer {
        let server = try RedisServer(arguments: arguments)
        addTeardownBlock { server.stop() }
        return server
    }

    /// A command connection and a pub/sub connection subscribed to "room", both up; the pub/sub side
    /// counts resubscriptions and keeps the messages it receives. Nil if they did not come up.
    final class ConnectedPair {
        let client: RedisClient
        let subscriber: RedisSubscriber
        var resubscribed = 0
        var messages: [[UInt8]] = []

        init(client: RedisClient, subscriber: RedisSubscriber) {
            self.client = client
            self.subscriber = subscriber
        }

        func close() { client.close(); subscriber.close() }
    }

    func connectedPair(_ loop: EventLoop, port: Int) -> ConnectedPair? {
        let pair = ConnectedPair(client: RedisClient(loop: loop, configuration: configuration(port: port), logger: logger),
                                 subscriber: RedisSubscriber(loop: loop, configuration: configuration(port: port), logger: logger))
        pair.subscriber.onResubscribed = { [unowned pair] in pair.resubscribed += 1 }
        pair.subscriber.onMessage = { [unowned pair] _, payload in pair.messages.append(Array(payload)) }
        pair.client.connect()
        pair.subscriber.connect()
        var confirmed = false
        pair.subscriber.subscribe("room") { confirmed = true }
        guard runLoop(loop, until: { pair.client.isConnected && confirmed }) else { pair.close(); return nil }
        return pair
    }

    func result(_ loop: EventLoop, timeoutMs: Int = 10_000, _ start: (@escaping RedisClient.Completion) -> Void) -> Result<RedisValue, RedisError>? {
        var result: Result<RedisValue, RedisError>?
        start { result = $0 }
        runLoop(loop, timeoutMs: timeoutMs) { result != nil }
        return result
    }

    /// Before owning the libuv bridge, a refused connect was never failed: the first attempt hung forever.
    func testConnectionRefusedAtStartThenServerStarts() throws {
        let loop = try EventLoop()
        let port = freeTCPPort()
        let client = RedisClient(loop: loop, configuration: configuration(port: port), logger: logger)
        defer { client.close() }
        client.connect()
        runLoop(loop, timeoutMs: 300) { false }
        XCTAssertFalse(client.isConnected)
        guard case .failure(.disconnected) = result(loop, timeoutMs: 0, { client.send(["PING"], completion: $0) }) else {
            return XCTFail("a command while Redis is down fails at once")
        }
        let server = try RedisServer(port: port)
        addTeardownBlock { server.stop() }
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { client.isConnected }, "connects once the server is up")
        XCTAssertEqual(try result(loop) { client.send(["PING"], completion: $0) }?.get(), .status("PONG"))
    }

    func testKill9AndRestartOnTheSamePortReconnectsAndResubscribes() throws {
        let loop = try EventLoop()
        let server = try privateServer()
        let pair = try XCTUnwrap(connectedPair(loop, port: server.port))
        defer { pair.close() }
        let (client, subscriber) = (pair.client, pair.subscriber)

        server.crash()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { !client.isConnected && !subscriber.isConnected })
        // Reconnect attempts are refused for a while (the path the Debian adapter never failed).
        runLoop(loop, timeoutMs: 500) { false }
        guard case .failure(.disconnected) = result(loop, timeoutMs: 0, { client.send(["PING"], completion: $0) }) else {
            return XCTFail("commands during the outage fail at once")
        }
        XCTAssertFalse(client.isHealthy)

        try server.start()
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { client.isConnected && pair.resubscribed == 1 }, "reconnects after the restart")
        XCTAssertEqual(try result(loop) { client.send(["SPUBLISH", "room", "back"], completion: $0) }?.get(), .integer(1))
        XCTAssertTrue(runLoop(loop) { pair.messages == [Array("back".utf8)] })
    }

    /// A RST (not a clean close) on both connections: noticed, and both come back through the proxy.
    func testResetConnectionsAreNoticedAndReestablished() throws {
        let loop = try EventLoop()
        let server = try privateServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let pair = try XCTUnwrap(connectedPair(loop, port: proxy.port))
        defer { pair.close() }
        let client = pair.client
        var lost = 0
        client.onStateChange = { if !$0 { lost += 1 } }
        // A command in flight when the reset comes fails rather than hanging.
        proxy.setHoldReplies(true)
        var inFlight: Result<RedisValue, RedisError>?
        client.send(["PING"]) { inFlight = $0 }
        runLoop(loop, timeoutMs: 100) { false }
        proxy.setHoldReplies(false)
        proxy.resetAll()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { inFlight != nil && lost == 1 })
        if case .success = inFlight { /* the reply may have slipped through before the reset */ } else if case .failure(let error) = inFlight {
            XCTAssertNotEqual(error, .timeout, "a reset is noticed at once, not by the timeout")
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { client.isConnected && pair.resubscribed == 1 && client.reconnects == 1 })
        XCTAssertEqual(try result(loop) { client.send(["SPUBLISH", "room", "x"], completion: $0) }?.get(), .integer(1))
    }

    func testCommandTimesOutWhenRedisStallsAndRecoversAfter() throws {
        let loop = try EventLoop()
        let server = try privateServer()
        addTeardownBlock { server.resume() }
        let client = RedisClient(loop: loop, configuration: configuration(port: server.port), logger: logger)
        defer { client.close() }
        client.connect()
        XCTAssertTrue(runLoop(loop) { client.isConnected })

        server.pause()
        let stalled = result(loop) { client.send(["GET", "k"], completion: $0) }
        guard case .failure(.timeout) = stalled else { return XCTFail("expected a timeout, got \(String(describing: stalled))") }
        // The connection was dropped; a reconnect cannot finish its handshake while Redis is stopped.
        XCTAssertFalse(client.isConnected)
        XCTAssertFalse(client.isHealthy)
        guard case .failure(.disconnected) = result(loop, timeoutMs: 0, { client.send(["GET", "k"], completion: $0) }) else {
            return XCTFail("during the outage commands fail at once")
        }

        server.resume()
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { client.isHealthy })
        XCTAssertEqual(try result(loop) { client.send(["PING"], completion: $0) }?.get(), .status("PONG"))
    }

    /// Nothing is sent, yet a stalled server is noticed: the keep-alive probes of both connections
    /// go unanswered, health turns false, the connections are dropped, and all recover after SIGCONT.
    func testKeepAliveNoticesAStalledIdleServer() throws {
        let loop = try EventLoop()
        let server = try privateServer()
        addTeardownBlock { server.resume() }
        let pair = try XCTUnwrap(connectedPair(loop, port: server.port))
        defer { pair.close() }
        let (client, subscriber) = (pair.client, pair.subscriber)
        // Idle for several keep-alive intervals: the probes are answered and nothing changes.
        runLoop(loop, timeoutMs: 1000) { false }
        XCTAssertTrue(client.isHealthy && subscriber.isHealthy)
        XCTAssertEqual(client.reconnects + subscriber.reconnects, 0)

        server.pause()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { !client.isHealthy && !subscriber.isHealthy })
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { !client.isConnected && !subscriber.isConnected }, "dropped by the timeout")

        server.resume()
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { client.isHealthy && subscriber.isHealthy && pair.resubscribed == 1 })
    }

    /// A half-open connection (the peer silently stops answering, as behind a dead NAT entry) is
    /// noticed by the keep-alive alone.
    func testHalfOpenConnectionIsNoticed() throws {
        let loop = try EventLoop()
        let server = try privateServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let subscriber = RedisSubscriber(loop: loop, configuration: configuration(port: proxy.port), logger: logger)
        defer { subscriber.close() }
        subscriber.connect()
        XCTAssertTrue(runLoop(loop) { subscriber.isConnected })
        proxy.setHoldReplies(true)
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { !subscriber.isConnected })
        proxy.setHoldReplies(false)
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { subscriber.isHealthy })
    }

    /// subscribe → unsubscribe → subscribe on one channel while the first SUBSCRIBE is unanswered:
    /// the second subscription is live only once the reply to the second SUBSCRIBE came. Before,
    /// the first confirmation fired it while the UNSUBSCRIBE and the new SUBSCRIBE had not even
    /// reached Redis.
    func testResubscribeRaceGoesLiveOnlyOnTheLastSubscribe() throws {
        let loop = try EventLoop()
        let server = try privateServer()
        let proxy = try FaultProxy(upstreamPort: server.port)
        defer { proxy.stop() }
        let subscriber = RedisSubscriber(loop: loop, configuration: configuration(port: proxy.port, timeoutMs: 10_000), logger: logger)
        defer { subscriber.close() }
        subscriber.connect()
        XCTAssertTrue(runLoop(loop) { subscriber.isConnected })
        var events: [String] = []
        subscriber.onMessage = { _, payload in events.append(String(decoding: payload, as: UTF8.self)) }

        proxy.setHoldReplies(true)
        subscriber.subscribe("race") { events.append("first confirmed") }
        XCTAssertTrue(runLoop(loop) { server.cli("PUBSUB", "SHARDNUMSUB", "race").hasSuffix("1") }, "Redis has the first SSUBSCRIBE")
        proxy.setHoldRequests(true)
        subscriber.unsubscribe("race")
        subscriber.subscribe("race") { events.append("second confirmed") }
        runLoop(loop, timeoutMs: 200) { false }
        proxy.setHoldReplies(false)
        // The first SUBSCRIBE's reply is read now; the UNSUBSCRIBE and the SUBSCRIBE are still held.
        runLoop(loop, timeoutMs: 300) { false }
        XCTAssertEqual(events, [], "neither waiter fires on the reply to a SUBSCRIBE that was followed by an UNSUBSCRIBE")

        proxy.setHoldRequests(false)
        XCTAssertTrue(runLoop(loop) { events == ["second confirmed"] })
        XCTAssertEqual(server.cli("SPUBLISH", "race", "m"), "1")
        XCTAssertTrue(runLoop(loop) { events == ["second confirmed", "m"] })
    }
}
