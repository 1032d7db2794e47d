@preconcurrency import CHiredis
@preconcurrency import CLibUV
import EventLoop

/// Drives one hiredis async context from a libuv poll handle: hiredis' `ev.addRead/delRead/
/// addWrite/delWrite/cleanup` hooks start and stop the poll, readiness calls
/// `redisAsyncHandleRead/Write`.
///
/// It replaces hiredis 0.14's `adapters/libuv.h`, whose poll callback returns early on an error
/// status: libuv reports a refused connect or a reset as POLLERR (it stops the handle and passes
/// `UV_EBADF`), so the context was never failed and never retried. Here an error lets hiredis read,
/// which makes it see the socket error and tear the context down; if it still does not, the
/// connection is failed explicitly.
///
/// Lifetime: the bridge is retained by its poll handle. hiredis calls `cleanup` from inside
/// `redisAsyncFree`; that closes the handle, and the bridge and the handle memory are released
/// only in libuv's close callback, on a later loop turn — never inside one of our own callbacks.
final class LibuvBridge {
    private let handle: UnsafeMutablePointer<uv_poll_t>
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private var events: Int32 = 0
    /// Kept alive as long as hiredis may call back into it.
    let owner: HiredisConnection

    private init(context: UnsafeMutablePointer<redisAsyncContext>, owner: HiredisConnection) {
        self.context = context
        self.owner = owner
        handle = .allocate(capacity: 1)
    }

    /// Installs the hooks on `ac`; false (nothing installed) when libuv cannot watch its socket.
    static func attach(_ ac: UnsafeMutablePointer<redisAsyncContext>, loop: EventLoop, owner: HiredisConnection) -> Bool {
        guard ac.pointee.ev.data == nil else { return false }
        let bridge = LibuvBridge(context: ac, owner: owner)
        guard uv_poll_init(loop.uv, bridge.handle, ac.pointee.c.fd) == 0 else {
            // A failed init leaves the handle unregistered: plain memory, freed at once.
            bridge.handle.deallocate()
            return false
        }
        let me = Unmanaged.passRetained(bridge).toOpaque()
        bridge.handle.pointee.data = me
        ac.pointee.ev.data = me
        ac.pointee.ev.addRead = { LibuvBridge.from($0).watch(Int32(UV_READABLE.rawValue), true) }
        ac.pointee.ev.delRead = { LibuvBridge.from($0).watch(Int32(UV_READABLE.rawValue), false) }
        ac.pointee.ev.addWrite = { LibuvBridge.from($0).watch(Int32(UV_WRITABLE.rawValue), true) }
        ac.pointee.ev.delWrite = { LibuvBridge.from($0).watch(Int32(UV_WRITABLE.rawValue), false) }
        ac.pointee.ev.cleanup = { LibuvBridge.from($0).cleanup() }
        return true
    }

    /// The connection a context belongs to (valid in every hiredis callback of that context).
    static func owner(of ac: UnsafeMutablePointer<redisAsyncContext>) -> HiredisConnection {
        from(ac.pointee.ev.data).owner
    }

    private static func from(_ pointer: UnsafeMutableRawPointer?) -> LibuvBridge {
        Unmanaged<LibuvBridge>.fromOpaque(pointer!).takeUnretainedValue()
    }

    private func watch(_ flag: Int32, _ on: Bool) {
        guard context != nil else { return }
        let wanted = on ? events | flag : events & ~flag
        guard wanted != events else { return }
        events = wanted
        let status = wanted == 0 ? uv_poll_stop(handle) : uv_poll_start(handle, wanted) { handle, status, events in
            LibuvBridge.from(handle!.pointee.data).ready(status: status, events: events)
        }
        // hiredis is in the middle of an operation here; the connection fails the context on its
        // next tick rather than from inside hiredis.
        if status != 0 { owner.failSoon(.connection("uv_poll_start: \(UVError(status))")) }
    }

    private func ready(status: Int32, events readiness: Int32) {
        guard let ac = context else { return }
        if status < 0 {
            // libuv has stopped the handle. Reading makes hiredis call getsockopt/read, see the
            // socket error (ECONNREFUSED, ECONNRESET) and free the context, which calls `cleanup`.
            events = 0
            redisAsyncHandleRead(ac)
            if context != nil { owner.fail(.connection("socket error (\(UVError(status)))")) }
            return
        }
        if readiness & Int32(UV_READABLE.rawValue) != 0 { redisAsyncHandleRead(ac) }
        // The read may have freed the context (an error, or a callback that closed it).
        if let ac = context, readiness & Int32(UV_WRITABLE.rawValue) != 0 { redisAsyncHandleWrite(ac) }
    }

    /// Called by hiredis from `redisAsyncFree`, after the pending reply callbacks ran with a NULL
    /// reply and before the context's memory is released.
    private func cleanup() {
        guard let ac = context else { return }
        context = nil
        let reason = ac.pointee.err != 0 ? HiredisConnection.errorString(ac) : "closed"
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            let bridge = Unmanaged<LibuvBridge>.fromOpaque(h!.pointee.data!)
            UnsafeMutableRawPointer(h!).assumingMemoryBound(to: uv_poll_t.self).deallocate()
            bridge.release()
        }
        owner.contextGone(reason: reason)
    }
}

@available(*, unavailable)
extension LibuvBridge: Sendable {}
