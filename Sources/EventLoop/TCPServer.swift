@preconcurrency import CLibUV
import Glibc

/// A listening TCP socket. With `reusePort`, several loops (one per worker thread) can listen on the
/// same address and the kernel spreads new connections across them.
///
/// Out of descriptors (EMFILE/ENFILE), the listener closes its socket and listens again after
/// `pauseMs`: libuv's accept loop retries an accept that fails that way at once, forever, unless its
/// spare descriptor trick could run (it cannot when another thread took the freed descriptor). Clients
/// arriving meanwhile are refused by the kernel and retry; the loop keeps serving everyone else.
public final class TCPServer {
    private var handle: UnsafeMutablePointer<uv_tcp_t>?
    /// Checked: used once per accept, and the loop outlives its listener.
    unowned let loop: EventLoop
    private let reusePort: Bool
    private let backlog: Int32
    private var onAccept: ((TCPConnection) -> Void)?
    private var onAcceptError: ((UVError) -> Void)?
    private var closed = false
    private var resumeTimer: LoopTimer?
    public private(set) var address: SocketAddress
    /// Counts connections; those it refuses go to `onRefuse` instead of `onAccept`.
    public var limiter: ConnectionLimiter?
    /// Answers a refused connection (e.g. 503) and closes it; without it refusals are closed at once.
    public var onRefuse: ((TCPConnection, ConnectionLimiter.Refusal) -> Void)?
    /// How long accepting pauses after EMFILE/ENFILE.
    public var pauseMs: UInt64 = 250
    /// Times accepting paused for want of descriptors.
    public private(set) var acceptPauses = 0

    public init(loop: EventLoop, address: SocketAddress, reusePort: Bool = false, backlog: Int32 = 4096,
                onAcceptError: ((UVError) -> Void)? = nil,
                onAccept: @escaping (TCPConnection) -> Void) throws(UVError) {
        self.loop = loop
        self.address = address
        self.reusePort = reusePort
        self.backlog = backlog
        self.onAccept = onAccept
        self.onAcceptError = onAcceptError
        do {
            try listen()
            self.address = boundAddress() ?? self.address
        } catch {
            close()
            throw error
        }
    }

    private var stream: UnsafeMutablePointer<uv_stream_t>? {
        handle.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: uv_stream_t.self) }
    }

    /// A new handle each time: after a pause the old one is closed. Each handle holds one retain of
    /// the server, released by its close callback.
    private func listen() throws(UVError) {
        let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        // With AF_UNSPEC no socket is made yet, so libuv's uv_tcp_init cannot fail here.
        let initialized = uv_tcp_init(loop.uv, handle)
        precondition(initialized == 0, "uv_tcp_init: \(UVError(initialized))")
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        self.handle = handle
        do {
            try bind(handle, address, reusePort: reusePort)
            let rc = uv_listen(stream, backlog) { server, status in
                let me = Unmanaged<TCPServer>.fromOpaque(server!.pointee.data).takeUnretainedValue()
                me.accept(status: status)
            }
            try uvCheck(rc)
        } catch {
            closeHandle()
            throw error
        }
    }

    private func bind(_ handle: UnsafeMutablePointer<uv_tcp_t>, _ address: SocketAddress, reusePort: Bool) throws(UVError) {
        // libuv 1.44 (Debian 12) has no UV_TCP_REUSEPORT, so the socket is made and configured here.
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw UVError(-errno) }
        var one: Int32 = 1
        for option in [SO_REUSEADDR] + (reusePort ? [SO_REUSEPORT] : []) {
            guard setsockopt(fd, SOL_SOCKET, option, &one, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                let e = errno
                Glibc.close(fd)
                throw UVError(-e)
            }
        }
        let rc = address.withSockaddr { Glibc.bind(fd, $0, address.length) }
        guard rc == 0 else { let e = errno; Glibc.close(fd); throw UVError(-e) }
        let orc = uv_tcp_open(handle, fd)
        if orc < 0 { Glibc.close(fd); throw UVError(orc) }
    }

    private func boundAddress() -> SocketAddress? {
        guard let handle else { return nil }
        var storage = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(handle, $0, &len) }
        }
        return rc == 0 ? SocketAddress(storage: storage) : nil
    }

    private func accept(status: Int32) {
        if status == Int32(UV_EMFILE.rawValue) || status == Int32(UV_ENFILE.rawValue) {
            pauseAccepting()
            onAcceptError?(UVError(status))
            return
        }
        if status < 0 { onAcceptError?(UVError(status)); return }
        guard let stream else { return }
        let connection = TCPConnection(loop: loop)
        let rc = uv_accept(stream, connection.stream)
        if rc < 0 {
            connection.close()
            onAcceptError?(UVError(rc))
            return
        }
        // A connection reset before we configured it is closed by configureAccepted: nothing to hand on.
        if let error = connection.configureAccepted() {
            onAcceptError?(error)
            return
        }
        if let limiter {
            let host = connection.peerAddress?.host ?? ""
            if let refusal = limiter.admit(host: host) {
                refuse(connection, refusal, limiter: limiter)
                return
            }
            connection.ticket = ConnectionTicket(limiter: limiter, host: host)
        }
        onAccept?(connection)
    }

    private func refuse(_ connection: TCPConnection, _ refusal: ConnectionLimiter.Refusal, limiter: ConnectionLimiter) {
        guard let onRefuse, limiter.claimRefusal() else {
            connection.close()
            return
        }
        connection.ticket = ConnectionTicket(limiter: limiter, host: nil)
        onRefuse(connection, refusal)
    }

    /// Closing the socket ends libuv's accept loop; the timer listens again.
    private func pauseAccepting() {
        closeHandle()
        acceptPauses += 1
        let timer = resumeTimer ?? LoopTimer(loop: loop)
        resumeTimer = timer
        timer.start(timeoutMs: pauseMs) { [weak self] in
            guard let self, !self.closed, self.handle == nil else { return }
            do throws(UVError) {
                try self.listen()
            } catch {
                self.onAcceptError?(error)
                self.pauseAccepting()
            }
        }
    }

    private func closeHandle() {
        guard let handle else { return }
        self.handle = nil
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            Unmanaged<TCPServer>.fromOpaque(h!.pointee.data).release()
            UnsafeMutableRawPointer(h!).assumingMemoryBound(to: uv_tcp_t.self).deallocate()
        }
    }

    /// Stops accepting; established connections are unaffected.
    public func close() {
        guard !closed else { return }
        closed = true
        onAccept = nil
        onAcceptError = nil
        onRefuse = nil
        resumeTimer?.close()
        resumeTimer = nil
        closeHandle()
    }
}

@available(*, unavailable)
extension TCPServer: Sendable {}
