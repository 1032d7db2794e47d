import EventLoop
import Glibc
@testable import Hub
import Logging
import RedisClient
import TestSupport
import XCTest

/// A hub worker in the test process, for tests that look inside it (allocations, object sizes): its
/// loop runs only when `step` runs it, between turns of the clients' loop.
extension HubTestCase {
    func startInProcessWorker() throws -> HubWorker {
        var configuration = HubConfiguration(listen: try SocketAddress(host: "127.0.0.1", port: 0),
                                             redis: RedisConfiguration(host: RedisServer.shared.host, port: RedisServer.shared.port),
                                             workers: 1, signer: signer, qrKey: qrKey)
        configuration.pingIntervalMs = 3_600_000
        let metrics = HubMetrics()
        let worker = try HubWorker(configuration: configuration, metrics: metrics, allMetrics: [metrics], logger: Logger(label: "test"))
        try worker.start(handleSignals: false)
        return worker
    }

    /// Shuts the worker down: until the clients have answered its close frames and it has let go of
    /// Redis, then a few more turns for the closes to be reported.
    func stopInProcessWorker(_ worker: HubWorker) {
        worker.shutdown()
        step(worker, timeoutMs: 5000) { worker.finished }
        step(worker, timeoutMs: 200) { false }
    }

    /// Steps the worker's loop and the clients' loop in turn until `condition` holds.
    @discardableResult
    func step(_ worker: HubWorker, timeoutMs: Int = 10_000, until condition: () -> Bool) -> Bool {
        let deadline = EventLoop.monotonicNs() + UInt64(timeoutMs) * 1_000_000
        while !condition() {
            if EventLoop.monotonicNs() > deadline { return false }
            worker.loop.runOnce(block: false)
            loop.runOnce(block: false)
            usleep(200)
        }
        return true
    }
}
