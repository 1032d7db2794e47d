@preconcurrency import CHiredis
import EventLoop
import Logging

/// Commands to Redis over one pipelined hiredis connection on the loop. Reconnects by itself;
/// a command issued while disconnected fails at once with `.disconnected` rather than waiting,
/// so callers can answer 503 instead of hanging.
public final class RedisClient {
    let connection: HiredisConnection

    public init(loop: EventLoop, configuration: RedisConfiguration, logger: Logger) {
        connection = HiredisConnection(loop: loop, configuration: configuration, logger: logger)
    }

    public func connect() { connection.connect() }
    public func close() { connection.close() }
    public var isConnected: Bool { connection.isConnected }
    public var reconnects: Int { connection.reconnects }

    /// Called with true when a connection is (re)established, false when it is lost.
    public var onStateChange: ((Bool) -> Void)? {
        didSet {
            let handler = onStateChange
            connection.onConnected = { handler?(true) }
            connection.onDisconnected = { _ in handler?(false) }
        }
    }

    public typealias Completion = (Result<RedisValue, RedisError>) -> Void

    private final class Pending {
        let completion: Completion
        init(_ completion: @escaping Completion) { self.completion = completion }
    }

    public func send(_ args: [String], completion: @escaping Completion) {
        send(bytes: args.map { Array($0.utf8) }, completion: completion)
    }

    public func send(bytes args: [[UInt8]], completion: @escaping Completion) {
        guard connection.isConnected else { completion(.failure(.disconnected)); return }
        let pending = Unmanaged.passRetained(Pending(completion))
        let submitted = connection.submit(args, callback: { _, reply, privdata in
            let pending = Unmanaged<Pending>.fromOpaque(privdata!).takeRetainedValue()
            guard let reply else {
                // hiredis passes no reply when the context is torn down with the command in flight.
                pending.completion(.failure(.connection("connection lost before the reply")))
                return
            }
            let value = RedisValue(reply.assumingMemoryBound(to: redisReply.self))
            if case .error(let message) = value {
                pending.completion(.failure(.reply(message)))
            } else {
                pending.completion(.success(value))
            }
        }, privdata: pending.toOpaque())
        if !submitted {
            pending.release()
            completion(.failure(.disconnected))
        }
    }

    /// Runs a Lua script by its SHA-1 (EVALSHA); when the server does not know it yet (first use,
    /// or after a restart/FLUSH), loads it with EVAL, which also caches it for next time.
    public func evalScript(_ script: RedisScript, keys: [String], args: [String], completion: @escaping Completion) {
        evalScript(script, keys: keys, args: args.map { Array($0.utf8) }, completion: completion)
    }

    public func evalScript(_ script: RedisScript, keys: [String], args: [[UInt8]], completion: @escaping Completion) {
        var tail: [[UInt8]] = [Array(String(keys.count).utf8)]
        tail.reserveCapacity(1 + keys.count + args.count)
        for key in keys { tail.append(Array(key.utf8)) }
        tail.append(contentsOf: args)
        send(bytes: [Array("EVALSHA".utf8), Array(script.sha1.utf8)] + tail) { [weak self] result in
            if case .failure(.reply(let message)) = result, message.hasPrefix("NOSCRIPT") {
                guard let self else { completion(result); return }
                self.send(bytes: [Array("EVAL".utf8), Array(script.source.utf8)] + tail, completion: completion)
            } else {
                completion(result)
            }
        }
    }
}

@available(*, unavailable)
extension RedisClient: Sendable {}
