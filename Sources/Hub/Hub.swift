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
        let failures = FailureBox()
        var threads: [pthread_t] = []
        for index in 0..<count {
            threads.append(startThread(stackSize: 1 << 20) {
                var workerLogger = logger
                workerLogger[metadataKey: "worker"] = "\(index)"
                do {
                    try serve(configuration: configuration, metrics: metrics[index], allMetrics: metrics, logger: workerLogger)
                } catch {
                    failures.record("\(error)")
                    workerLogger.error("worker failed: \(error)")
                    // One worker cannot serve; stop the others so the operator sees the failure.
                    kill(getpid(), SIGTERM)
                }
            })
        }
        // Only the workers' loops handle SIGINT/SIGTERM. Under ThreadSanitizer a signal delivered to
        // this thread, parked in a futex wait it does not intercept, would be deferred forever.
        var shutdownSignals = sigset_t()
        sigemptyset(&shutdownSignals)
        sigaddset(&shutdownSignals, SIGINT)
        sigaddset(&shutdownSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &shutdownSignals, nil)
        // Joined, not merely waited for: a worker thread's exit still frees memory (thread-local
        // destructors, OpenSSL's among them), which must not run beside this process's `exit`.
        for thread in threads { pthread_join(thread, nil) }
        if let failure = failures.first { throw HubError(description: failure) }
        logger.info("hub stopped")
    }
}

extension Hub {
    /// One worker from start to the end of its loop; the worker, its loop and everything on it are
    /// torn down by the time this returns, inside the thread `run` joins. (A teardown still freeing
    /// memory while the main thread ran `exit` corrupted the heap: "malloc_consolidate(): unaligned
    /// fastbin chunk detected" once in a SIGTERM test.)
    private static func serve(configuration: HubConfiguration, metrics: HubMetrics, allMetrics: [HubMetrics], logger: Logger) throws {
        let worker = try HubWorker(configuration: configuration, metrics: metrics, allMetrics: allMetrics, logger: logger)
        try worker.start()
        worker.run()
    }

    /// A POSIX thread running `body`, for `pthread_join` (Foundation's `Thread` cannot be joined).
    private static func startThread(stackSize: Int, _ body: @escaping @Sendable () -> Void) -> pthread_t {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        let rc = pthread_create(&thread, &attributes, { context in
            Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
        // EAGAIN: the system is out of threads at start-up; nothing can serve then.
        precondition(rc == 0, "pthread_create: \(rc)")
        return thread
    }

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

private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var failures: [String] = []
    func record(_ s: String) { lock.lock(); failures.append(s); lock.unlock() }
    var first: String? { lock.lock(); defer { lock.unlock() }; return failures.first }
}
