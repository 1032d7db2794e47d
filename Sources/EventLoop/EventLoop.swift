@preconcurrency import CLibUV
import Glibc

/// One libuv loop, owned by one thread. Every handle created on it must be used on that thread only.
public final class EventLoop {
    public let uv: UnsafeMutablePointer<uv_loop_t>

    /// Reads of every connection on this loop land in this one buffer (libuv's alloc_cb pattern):
    /// the reader consumes or copies the bytes before returning, so per-connection memory stays small.
    let readBuffer: UnsafeMutableRawPointer
    let readBufferSize = 64 * 1024

    /// Replies written while a connection's read callback runs are gathered here and sent with one
    /// write when it returns, so a batch of pipelined requests costs one syscall, not one each.
    var cork: UnsafeMutableRawPointer
    var corkCapacity = 64 * 1024
    var corkCount = 0
    /// Identity only (no reference counting on the write path); the connection is alive while it reads.
    var corkedConnection: ObjectIdentifier?
    /// Every TCP connection of this loop is a descriptor in this epoll set.
    let poller: SocketPoller

    public init() throws(UVError) {
        // A write to a socket the peer already closed must fail with EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        uv = .allocate(capacity: 1)
        readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        cork = .allocate(byteCount: corkCapacity, alignment: 16)
        let rc = uv_loop_init(uv)
        if rc < 0 {
            uv.deallocate(); readBuffer.deallocate(); cork.deallocate()
            throw UVError(rc)
        }
        do {
            poller = try SocketPoller(loop: uv)
        } catch {
            _ = uv_loop_close(uv)
            uv.deallocate(); readBuffer.deallocate(); cork.deallocate()
            throw error
        }
        uv.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        poller.closeAll()
        // Handles still open keep their memory until their close callbacks run; give them that turn.
        uv_walk(uv, { handle, _ in
            if let handle, uv_is_closing(handle) == 0 { uv_close(handle, nil) }
        }, nil)
        uv_run(uv, UV_RUN_DEFAULT)
        // EBUSY would mean a handle outlived its close callback; nothing is left to retry in a deinit.
        _ = uv_loop_close(uv)
        poller.deallocate()
        uv.deallocate()
        readBuffer.deallocate()
        cork.deallocate()
    }

    static func from(_ loop: UnsafeMutablePointer<uv_loop_t>) -> EventLoop {
        Unmanaged<EventLoop>.fromOpaque(loop.pointee.data!).takeUnretainedValue()
    }

    /// Runs until no handle is active or `stop()` is called.
    public func run() { uv_run(uv, UV_RUN_DEFAULT) }

    /// Runs one iteration without blocking; for tests that step the loop.
    @discardableResult
    public func runOnce(block: Bool = false) -> Bool {
        uv_run(uv, block ? UV_RUN_ONCE : UV_RUN_NOWAIT) != 0
    }

    public func stop() { uv_stop(uv) }

    /// Milliseconds of the loop's cached clock (updated once per iteration).
    public var nowMs: UInt64 { uv_now(uv) }

    /// Wall-clock milliseconds since the epoch.
    public static func wallClockMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// Monotonic nanoseconds (for latency measurements).
    public static func monotonicNs() -> UInt64 { uv_hrtime() }

    /// Raises RLIMIT_NOFILE to its hard limit so a hub can hold tens of thousands of sockets.
    @discardableResult
    public static func raiseOpenFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            // Best effort: whatever setrlimit did, the limit re-read here is the one reported.
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
        }
        return Int(limit.rlim_cur)
    }

    // MARK: cork

    func corkAppend(_ bytes: UnsafeRawBufferPointer) {
        if corkCount + bytes.count > corkCapacity {
            var newCapacity = corkCapacity * 2
            while newCapacity < corkCount + bytes.count { newCapacity *= 2 }
            let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            grown.copyMemory(from: cork, byteCount: corkCount)
            cork.deallocate()
            cork = grown
            corkCapacity = newCapacity
        }
        (cork + corkCount).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        corkCount += bytes.count
    }
}

@available(*, unavailable)
extension EventLoop: Sendable {}
