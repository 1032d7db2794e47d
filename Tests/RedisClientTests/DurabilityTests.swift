import EventLoop
import Logging
import RedisClient
import TestSupport
import XCTest

/// `durability replica` against a real primary and replica (`--replicaof`).
final class DurabilityTests: XCTestCase {
    let logger: Logger = {
        var logger = Logger(label: "durability-test")
        logger.logLevel = .critical
        return logger
    }()

    static let write = RedisScript("redis.call('SET', KEYS[1], ARGV[1]) return 'ok'", writes: true)

    private func eval(_ loop: EventLoop, _ client: RedisClient, _ key: String, _ value: String) -> Result<RedisValue, RedisError>? {
        var result: Result<RedisValue, RedisError>?
        client.evalScript(Self.write, keys: [key], args: [value]) { result = $0 }
        runLoop(loop, timeoutMs: 15_000) { result != nil }
        return result
    }

    /// An acknowledged write survives promoting the replica; with the replica stopped, a write is
    /// not acknowledged (it answers `notReplicated`, which the api and hub turn into 503).
    func testAcknowledgedWriteSurvivesPromotingTheReplica() throws {
        let loop = try EventLoop()
        let primary = try RedisServer()
        addTeardownBlock { primary.stop() }
        let replica = try RedisServer(arguments: ["--replicaof", primary.host, String(primary.port)])
        addTeardownBlock { replica.stop() }
        XCTAssertTrue(waitUntil { replica.cli("INFO", "replication").contains("master_link_status:up") }, "replica in sync")

        var configuration = RedisConfiguration(host: primary.host, port: primary.port)
        configuration.durability = .replica
        let client = RedisClient(loop: loop, configuration: configuration, logger: logger)
        defer { client.close() }
        client.connect()
        XCTAssertTrue(runLoop(loop) { client.isConnected })

        XCTAssertEqual(try eval(loop, client, "acked", "1")?.get().text, "ok")
        // Immediately promote: no time for lazy replication, only WAIT made this safe.
        XCTAssertEqual(replica.cli("REPLICAOF", "NO", "ONE"), "OK")
        XCTAssertEqual(replica.cli("GET", "acked"), "1")
        var promoted = RedisConfiguration(host: replica.host, port: replica.port)
        promoted.durability = .replica
        let failedOver = RedisClient(loop: loop, configuration: promoted, logger: logger)
        defer { failedOver.close() }
        failedOver.connect()
        XCTAssertTrue(runLoop(loop) { failedOver.isConnected })
        var read: Result<RedisValue, RedisError>?
        failedOver.send(["GET", "acked"]) { read = $0 }
        XCTAssertTrue(runLoop(loop) { read != nil })
        XCTAssertEqual(try read?.get().text, "1")

        // The primary now has no replica: a write is applied but not acknowledged.
        guard case .failure(.notReplicated) = eval(loop, client, "unconfirmed", "1") else {
            return XCTFail("without a replica a durable write must not be acknowledged")
        }
        // Reads and scripts that do not write acknowledged records do not wait.
        var plain: Result<RedisValue, RedisError>?
        client.evalScript(RedisScript("return 1"), keys: [], args: [String]()) { plain = $0 }
        XCTAssertTrue(runLoop(loop) { plain != nil })
        XCTAssertEqual(try plain?.get(), .integer(1))
    }

    /// A blocking wait for conditions checked with redis-cli.
    private func waitUntil(timeoutS: Double = 15, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutS)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return false
    }
}
