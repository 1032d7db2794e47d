import EventLoop
import Foundation
import Logging

/// A hub process: `workers` event loops on their own threads, all listening on the same address
/// (SO_REUSEPORT spreads connections), each with its own Redis connections. Returns after a
/// SIGINT/SIGTERM has closed every connection.
public enum Hub {
    public static func run(_ configuration: HubConfiguration, logger: Logger) throws {
        let limit = EventLoop.raiseOpenFileLimit()
        let count = max(1, configuration.workers)
        let configuration = limitingConnections(configuration, openFileLimit: limit, logger: logger)
        let metrics = (0..<count).map { _ in HubMetrics() }
        // Workers are built on their own threads (loop-bound objects never cross threads); a bind
        // error on any of them is reported back before the process settles into serving.
        let group = DispatchGroup()
        let failures = FailureBox()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                var workerLogger = logger
                workerLogger[metadataKey: "worker"] = "\(index)"
                do {
                    let worker = try HubWorker(configuration: configuration, metrics: metrics[index], allMetrics: metrics, logger: workerLogger)
                    try worker.start()
                    worker.run()
                } catch {
                    failures.record("\(error)")
                    workerLogger.error("worker failed: \(error)")
                    // One worker cannot serve; stop the others so the operator sees the failure.
                    kill(getpid(), SIGTERM)
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        // Only the workers' loops handle SIGINT/SIGTERM. Under ThreadSanitizer a signal delivered to
        // this thread, parked in a futex wait it does not intercept, would be deferred forever.
        var shutdownSignals = sigset_t()
        sigemptyset(&shutdownSignals)
        sigaddset(&shutdownSignals, SIGINT)
        sigaddset(&shutdownSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &shutdownSignals, nil)
        group.wait()
        if let failure = failures.first { throw HubError(description: failure) }
        logger.info("hub stopped")
    }
}

extension Hub {
    /// Adds the shared connection limiter. Each worker keeps two Redis connections and a listener;
    /// the reserve also covers stdio, logs, the loops' own descriptors and refusals being answered.
    static func limitingConnections(_ configuration: HubConfiguration, openFileLimit limit: Int, logger: Logger) -> HubConfiguration {
        var configuration = configuration
        let workers = max(1, configuration.workers)
        let safe = ConnectionLimiter.safeTotal(openFileLimit: limit, reserve: 96 + 8 * workers)
        let total = configuration.maxConnections ?? safe
        if total > safe {
            logger.warning("--max-connections \(total) is above the \(safe) the open-file limit \(limit) leaves room for; Redis reconnects may fail at the cap")
        }
        configuration.connectionLimiter = ConnectionLimiter(maxTotal: total, maxPerAddress: configuration.maxConnectionsPerAddress)
        logger.info("hub listening on \(configuration.listen) with \(workers) worker(s); open-file limit \(limit), at most \(total) connections (\(configuration.maxConnectionsPerAddress) per address)")
        return configuration
    }
}

public struct HubError: Error, CustomStringConvertible {
    public let description: String
}

private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var failures: [String] = []
    func record(_ s: String) { lock.lock(); failures.append(s); lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return failures.first }
}
