@preconcurrency import CLibUV
import Glibc

/// A listening TCP socket. With `reusePort`, several loops (one per worker thread) can listen on the
/// same address and the kernel spreads new connections across them.
public final class TCPServer {
    let handle: UnsafeMutablePointer<uv_tcp_t>
    /// Checked: used once per accept, and the loop outlives its listener.
    unowned let loop: EventLoop
    private var onAccept: ((TCPConnection) -> Void)?
    private var onAcceptError: ((UVError) -> Void)?
    private var closed = false
    public private(set) var address: SocketAddress

    public init(loop: EventLoop, address: SocketAddress, reusePort: Bool = false, backlog: Int32 = 4096,
                onAcceptError: ((UVError) -> Void)? = nil,
                onAccept: @escaping (TCPConnection) -> Void) throws(UVError) {
        self.loop = loop
        self.address = address
        self.onAccept = onAccept
        self.onAcceptError = onAcceptError
        handle = .allocate(capacity: 1)
        // With AF_UNSPEC no socket is made yet, so libuv's uv_tcp_init cannot fail here.
        let initialized = uv_tcp_init(loop.uv, handle)
        precondition(initialized == 0, "uv_tcp_init: \(UVError(initialized))")
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        do {
            try bind(address, reusePort: reusePort)
            let rc = uv_listen(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self), backlog) { server, status in
                let me = Unmanaged<TCPServer>.fromOpaque(server!.pointee.data).takeUnretainedValue()
                me.accept(status: status)
            }
            try uvCheck(rc)
            self.address = boundAddress() ?? address
        } catch {
            close()
            throw error
        }
    }

    private func bind(_ address: SocketAddress, reusePort: Bool) throws(UVError) {
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
        var storage = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(handle, $0, &len) }
        }
        return rc == 0 ? SocketAddress(storage: storage) : nil
    }

    private func accept(status: Int32) {
        if status < 0 { onAcceptError?(UVError(status)); return }
        let connection = TCPConnection(loop: loop)
        let rc = uv_accept(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self), connection.stream)
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
        onAccept?(connection)
    }

    /// Stops accepting; established connections are unaffected.
    public func close() {
        guard !closed else { return }
        closed = true
        onAccept = nil
        onAcceptError = nil
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)) { h in
            Unmanaged<TCPServer>.fromOpaque(h!.pointee.data).release()
            UnsafeMutableRawPointer(h!).assumingMemoryBound(to: uv_tcp_t.self).deallocate()
        }
    }
}

@available(*, unavailable)
extension TCPServer: Sendable {}
