import Glibc
import Synchronization

/// Connections open at once, in total and per source address, shared by every loop of a process
/// (accepts and closes are rare next to messages, so one lock is cheap). A `TCPServer` given a
/// limiter asks it at each accept and hands refused connections to its owner, which answers 503.
public final class ConnectionLimiter: Sendable {
    public enum Refusal: Sendable, Equatable {
        case total, perAddress
    }

    public let maxTotal: Int
    public let maxPerAddress: Int
    /// Refused connections still being answered; beyond this they are closed without an answer, so a
    /// flood of refusals cannot use up the descriptors kept in reserve.
    public let maxRefusing: Int
    private let state = PthreadLocked(State())
    private let refused = Atomic<Int>(0)

    private struct State {
        var total = 0
        var refusing = 0
        var perAddress: [String: Int] = [:]
    }

    public init(maxTotal: Int, maxPerAddress: Int, maxRefusing: Int = 64) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
        self.maxRefusing = maxRefusing
    }

    /// Open connections counted now.
    public var openConnections: Int { state.withLock { $0.total } }
    /// Connections refused since start.
    public var refusedConnections: Int { refused.load(ordering: .relaxed) }

    /// The connections a process may keep open: its open-file limit minus `reserve` descriptors for
    /// Redis connections, listeners, logs and refusals in progress.
    public static func safeTotal(openFileLimit: Int, reserve: Int) -> Int {
        max(1, openFileLimit - reserve)
    }

    /// Counts a new connection from `host`, or says why it is refused (then `claimRefusal`).
    func admit(host: String) -> Refusal? {
        state.withLock { s in
            if s.total >= maxTotal { return .total }
            let count = s.perAddress[host, default: 0]
            if count >= maxPerAddress { return .perAddress }
            s.total += 1
            s.perAddress[host] = count + 1
            return nil
        }
    }

    func release(host: String) {
        state.withLock { s in
            s.total -= 1
            if let count = s.perAddress[host], count > 1 { s.perAddress[host] = count - 1 } else { s.perAddress[host] = nil }
        }
    }

    /// Whether a refused connection may be answered (true) or must be closed at once (false).
    func claimRefusal() -> Bool {
        refused.add(1, ordering: .relaxed)
        return state.withLock { s in
            guard s.refusing < maxRefusing else { return false }
            s.refusing += 1
            return true
        }
    }

    func releaseRefusal() {
        state.withLock { $0.refusing -= 1 }
    }
}

/// What a connection gives back to its limiter when it closes. Held inline in the connection
/// (no object of its own: every idle connection carries one).
struct ConnectionTicket {
    let limiter: ConnectionLimiter
    let host: String?

    /// `host` for an admitted connection, nil for a refusal being answered.
    init(limiter: ConnectionLimiter, host: String?) {
        self.limiter = limiter
        self.host = host
    }

    func release() {
        if let host { limiter.release(host: host) } else { limiter.releaseRefusal() }
    }
}

/// A value behind a pthread mutex. Not `Synchronization.Mutex`: on Linux that is a futex ThreadSanitizer
/// cannot see, so every access it orders shows up as a race in `make sanitize`.
private final class PthreadLocked<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init(_ value: Value) {
        self.value = value
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&value)
    }
}
