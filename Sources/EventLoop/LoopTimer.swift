@preconcurrency import CLibUV

/// A libuv timer. It stays alive (retained by its handle) until `close()`.
public final class LoopTimer {
    let handle: UnsafeMutablePointer<uv_timer_t>
    private var callback: (() -> Void)?
    private var closed = false

    public init(loop: EventLoop) {
        handle = .allocate(capacity: 1)
        // Fails only for an invalid loop (libuv's uv_timer_init returns 0 otherwise).
        let rc = uv_timer_init(loop.uv, handle)
        precondition(rc == 0, "uv_timer_init: \(UVError(rc))")
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Fires after `timeoutMs`, then every `repeatMs` if non-zero.
    public func start(timeoutMs: UInt64, repeatMs: UInt64 = 0, _ callback: @escaping () -> Void) {
        precondition(!closed, "timer used after close")
        self.callback = callback
        let rc = uv_timer_start(handle, { h in
            let timer = Unmanaged<LoopTimer>.fromOpaque(h!.pointee.data).takeUnretainedValue()
            timer.callback?()
        }, timeoutMs, repeatMs)
        // EINVAL only for a closing handle, which `closed` already rules out.
        precondition(rc == 0, "uv_timer_start: \(UVError(rc))")
    }

    /// libuv's uv_timer_stop always returns 0.
    public func stop() { uv_timer_stop(handle) }

    /// Lets the loop exit even while this timer is armed (for housekeeping timers).
    public func unref() { uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) }

    public func close() {
        guard !closed else { return }
        closed = true
        callback = nil
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            Unmanaged<LoopTimer>.fromOpaque(h!.pointee.data).release()
            h!.deinitialize(count: 1)
            UnsafeMutableRawPointer(h!).assumingMemoryBound(to: uv_timer_t.self).deallocate()
        }
    }
}

@available(*, unavailable)
extension LoopTimer: Sendable {}

/// Watches a POSIX signal on one loop. libuv delivers a signal to the watchers of every loop.
public final class SignalWatcher {
    let handle: UnsafeMutablePointer<uv_signal_t>
    private var callback: ((Int32) -> Void)?
    private var closed = false

    /// Throws when libuv cannot watch the signal (its signal pipe could not be made, or `signal` is invalid).
    public init(loop: EventLoop, signal: Int32, _ callback: @escaping (Int32) -> Void) throws(UVError) {
        handle = .allocate(capacity: 1)
        let rc = uv_signal_init(loop.uv, handle)
        guard rc == 0 else {
            handle.deallocate()
            throw UVError(rc)
        }
        self.callback = callback
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let started = uv_signal_start(handle, { h, signum in
            let watcher = Unmanaged<SignalWatcher>.fromOpaque(h!.pointee.data).takeUnretainedValue()
            watcher.callback?(signum)
        }, signal)
        guard started == 0 else {
            close()
            throw UVError(started)
        }
        // A signal watcher alone should not keep the loop running once everything else has stopped.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    public func close() {
        guard !closed else { return }
        closed = true
        callback = nil
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            Unmanaged<SignalWatcher>.fromOpaque(h!.pointee.data).release()
            UnsafeMutableRawPointer(h!).assumingMemoryBound(to: uv_signal_t.self).deallocate()
        }
    }
}

@available(*, unavailable)
extension SignalWatcher: Sendable {}

/// Runs a callback once per loop iteration, right after I/O callbacks (uv_check): the place to
/// flush work that I/O callbacks batched up during the turn.
public final class LoopCheck {
    let handle: UnsafeMutablePointer<uv_check_t>
    private var callback: (() -> Void)?

    public init(loop: EventLoop, _ callback: @escaping () -> Void) {
        handle = .allocate(capacity: 1)
        // Both fail only for programmer misuse (an invalid loop, a nil callback): libuv returns 0 otherwise.
        let rc = uv_check_init(loop.uv, handle)
        precondition(rc == 0, "uv_check_init: \(UVError(rc))")
        self.callback = callback
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let started = uv_check_start(handle) { h in
            Unmanaged<LoopCheck>.fromOpaque(h!.pointee.data).takeUnretainedValue().callback?()
        }
        precondition(started == 0, "uv_check_start: \(UVError(started))")
        // A check alone must not keep the loop running.
        uv_unref(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self))
    }

    public func close() {
        guard callback != nil else { return }
        callback = nil
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            Unmanaged<LoopCheck>.fromOpaque(h!.pointee.data).release()
            UnsafeMutableRawPointer(h!).assumingMemoryBound(to: uv_check_t.self).deallocate()
        }
    }
}

@available(*, unavailable)
extension LoopCheck: Sendable {}
