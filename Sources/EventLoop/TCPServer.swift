@preconcurrency import CLibUV
import Glibc

/// A listening TCP socket. With `reusePort`, several loops (one per worker thread) can listen on the
/// same address and the kernel spreads new connections across them. Accepted sockets join the loop's
/// `SocketPoller`.
///
/// Out of descriptors (EMFILE/ENFILE), the listener closes its socket and listens again after
/// `pauseMs` instead of retrying at once, forever. Clients arriving meanwhile are refused by the kernel
/// (or go to another worker's socket) and retry, rather than wait unanswered in a backlog nobody
/// accepts from; the loop keeps serving everyone else.
public final class TCPServer {
    /// The socket and its poll handle; nil while paused. Each handle holds one retain of the server,
    /// released by its close callback (which also closes the socket).
    private var listener: (fd: Int32, handle: UnsafeMutablePointer<uv_poll_t>)?
    private let reusePort: Bool
    private let backlog: Int32
    /// Checked: used once per accept, and the loop outlives its listener.
    unowned let loop: EventLoop
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
    /// Accepts per wake-up, so a flood of connects cannot hold the loop from its other work.
    private let acceptsPerWake = 128

    public init(loop: EventLoop, address: SocketAddress, reusePort: Bool = false, backlog: Int32 = 4096,
                onAcceptError: ((UVError) -> Void)? = nil,
                onAccept: @escaping (TCPConnection) -> Void) throws(UVError) {
        self.loop = loop
        self.address = address
        self.reusePort = reusePort
        self.backlog = backlog
        self.onAccept = onAccept
        self.onAcceptError = onAcceptError
        try listen()
        if let listener { self.address = SocketAddress(of: listener.fd, getsockname) ?? address }
    }

    private func listen() throws(UVError) {
        let fd = try Self.listeningSocket(address, reusePort: reusePort, backlog: backlog)
        let handle = UnsafeMutablePointer<uv_poll_t>.allocate(capacity: 1)
        let rc = uv_poll_init(loop.uv, handle, fd)
        guard rc == 0 else {
            Glibc.close(fd)
            handle.deallocate()
            throw UVError(rc)
        }
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        listener = (fd, handle)
        // EBADF only for a closed handle; this one is new.
        _ = uv_poll_start(handle, Int32(UV_READABLE.rawValue)) { handle, status, _ in
            let me = Unmanaged<TCPServer>.fromOpaque(handle!.pointee.data).takeUnretainedValue()
            if status < 0 { me.onAcceptError?(UVError(status)); return }
            me.acceptReady()
        }
    }

    private static func listeningSocket(_ address: SocketAddress, reusePort: Bool, backlog: Int32) throws(UVError) -> Int32 {
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
        guard rc == 0, Glibc.listen(fd, backlog) == 0 else { let e = errno; Glibc.close(fd); throw UVError(-e) }
        return fd
    }

    private func acceptReady() {
        for _ in 0..<acceptsPerWake {
            guard let fd = listener?.fd else { return }
            let client = accept4(fd, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if client >= 0 {
                accepted(client)
                continue
            }
            switch errno {
            case EAGAIN, EWOULDBLOCK: return
            case EINTR, ECONNABORTED: continue
            case let error where error == EMFILE || error == ENFILE:
                pauseAccepting()
                onAcceptError?(UVError(-error))
                return
            case let error:
                onAcceptError?(UVError(-error))
                return
            }
        }
    }

    private func accepted(_ client: Int32) {
        let connection = TCPConnection(loop: loop, fd: client)
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

    /// Closes the socket; the timer listens again.
    private func pauseAccepting() {
        closeListener()
        acceptPauses += 1
        let timer = resumeTimer ?? LoopTimer(loop: loop)
        resumeTimer = timer
        timer.start(timeoutMs: pauseMs) { [weak self] in
            guard let self, !self.closed, self.listener == nil else { return }
            do throws(UVError) {
                try self.listen()
            } catch {
                self.onAcceptError?(error)
                self.pauseAccepting()
            }
        }
    }

    private func closeListener() {
        guard let (fd, handle) = listener else { return }
        listener = nil
        // The socket is closed now, so the kernel refuses new clients at once; the handle, which
        // may not outlive its descriptor in libuv's watcher table, is stopped first.
        uv_poll_stop(handle)
        Glibc.close(fd)
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            Unmanaged<TCPServer>.fromOpaque(h!.pointee.data).release()
            UnsafeMutableRawPointer(h!).assumingMemoryBound(to: uv_poll_t.self).deallocate()
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
        closeListener()
    }
}

@available(*, unavailable)
extension TCPServer: Sendable {}
