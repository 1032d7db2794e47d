import ArgumentParser
import Attendance
import EventLoop
import Logging
import RedisClient

/// Connects to Redis, runs one store operation once connected and waits for it, 10 s at most for
/// the connection; nil when it did not finish. For the admin commands (`user`, `purge`).
func runStoreOperation<T>(_ common: CommonOptions, settings: Settings, logger: Logger,
                          _ operation: @escaping (ClassStore, @escaping (Result<T, AttendanceError>) -> Void) -> Void)
    throws -> Result<T, AttendanceError>? {
    let loop = try EventLoop()
    let redis = RedisClient(loop: loop, configuration: try common.redisConfiguration(settings), logger: logger)
    // Admin commands sign nothing; the store only needs a signer to exist.
    let store = ClassStore(redis: redis, signer: TokenSigner(secret: "admin-command-signs-nothing"), qrKey: [], logger: logger)
    var outcome: Result<T, AttendanceError>?
    let deadline = LoopTimer(loop: loop)
    deadline.start(timeoutMs: 10_000) { if outcome == nil { outcome = .failure(.unavailable); redis.close() } }
    redis.onStateChange = { up in
        guard up, outcome == nil else { return }
        deadline.stop()
        operation(store) { result in
            outcome = result
            redis.close()
        }
    }
    redis.connect()
    loop.run()
    deadline.close()
    return outcome
}
