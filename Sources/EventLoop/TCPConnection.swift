@preconcurrency import CLibUV
import Glibc

/// What a connection tells its owner. Reads arrive in the loop's shared buffer: consume or copy them
/// before returning.
public protocol TCPConnectionDelegate: AnyObject {
    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer)
    /// Called once, from the close callback; `error` is nil for an orderly close or EOF.
    func connectionDidClose(_ connection: TCPConnection, error: UVError?)
    /// The send queue went from non-empty to empty.
    func connectionDidDrain(_ connection: TCPConnection)
}

extension TCPConnectionDelegate {
    public func connectionDidDrain(_ connection: TCPConnection) {}
}

/// A TCP stream on one loop. Writes go out with `uv_try_write` at once; only what the kernel did not
/// take is queued (`queuedBytes`), so the owner can enforce its own backpressure policy.
/// The connection keeps itself alive (and its delegate) from creation until its close callback.
public final class TCPConnection {
    let handle: UnsafeMutablePointer<uv_tcp_t>
    /// Read on every read and write (the cork), so not reference-counted: a checked `unowned` costs
    /// ~4 % of ping/pong throughput (docs/BENCHMARKS.md). Lifetime: a connection is made on its loop's
    /// thread and used only there; the loop outlives it, because the loop runs until every handle is
    /// closed, and `EventLoop.deinit` closes what is left before it frees anything (`close()` checks
    /// `uv_is_closing` before it touches the loop, for the callbacks that deinit still runs).
    public unowned(unsafe) let loop: EventLoop
    public var delegate: TCPConnectionDelegate?
    /// Bytes handed to libuv but not yet written to the kernel.
    public private(set) var queuedBytes = 0
    /// Every byte written but not yet taken by the kernel: `queuedBytes` plus what waits in the loop's
    /// cork while this connection's read callback runs (replies to the bytes just read).
    public var unsentBytes: Int {
        queuedBytes + (loop.corkedConnection == ObjectIdentifier(self) ? loop.corkCount : 0)
    }
    // Fields are ordered so the small ones share words: every idle connection holds this object.
    public private(set) var isOpen = true
    private var isShuttingDown = false
    private var closeError: UVError?
    private var lingerDeadlineMs: UInt32 = 0
    /// Given back to the server's `ConnectionLimiter` from the close callback.
    var ticket: ConnectionTicket?

    var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    }
    private var uvHandle: UnsafeMutablePointer<uv_handle_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self)
    }

    init(loop: EventLoop) {
        self.loop = loop
        handle = .allocate(capacity: 1)
        // With AF_UNSPEC no socket is made yet, so libuv's uv_tcp_init cannot fail here.
        let rc = uv_tcp_init(loop.uv, handle)
        precondition(rc == 0, "uv_tcp_init: \(UVError(rc))")
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Small JSON messages must not wait for Nagle's algorithm. A socket that refuses the option
    /// (already reset by the peer) is closed and the error returned.
    func configureAccepted() -> UVError? {
        let rc = uv_tcp_nodelay(handle, 1)
        guard rc < 0 else { return nil }
        closeError = UVError(rc)
        close()
        return UVError(rc)
    }

    static func from(_ stream: UnsafeMutablePointer<uv_stream_t>) -> TCPConnection {
        Unmanaged<TCPConnection>.fromOpaque(stream.pointee.data).takeUnretainedValue()
    }

    // MARK: connect

    /// Opens a client connection, optionally bound to a local source address (several 127.0.0.x
    /// sources give a load generator more than 64 K ephemeral ports).
    public static func connect(loop: EventLoop, to address: SocketAddress, from source: SocketAddress? = nil,
                               completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        let connection = TCPConnection(loop: loop)
        if let source {
            let rc = connection.bind(source: source)
            if rc < 0 {
                connection.close()
                completion(.failure(UVError(rc)))
                return
            }
        }
        let req = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        let context = ConnectContext(connection: connection, completion: completion)
        req.pointee.data = Unmanaged.passRetained(context).toOpaque()
        let rc = address.withSockaddr { sa in
            uv_tcp_connect(req, connection.handle, sa) { req, status in
                let context = Unmanaged<ConnectContext>.fromOpaque(req!.pointee.data).takeRetainedValue()
                req!.deallocate()
                if status < 0 {
                    context.connection.close()
                    context.completion(.failure(UVError(status)))
                } else if let error = context.connection.configureAccepted() {
                    context.completion(.failure(error))
                } else {
                    context.completion(.success(context.connection))
                }
            }
        }
        if rc < 0 {
            Unmanaged<ConnectContext>.fromOpaque(req.pointee.data).release()
            req.deallocate()
            connection.close()
            completion(.failure(UVError(rc)))
        }
    }

    /// Binds to a source address but leaves the port to `connect` (IP_BIND_ADDRESS_NO_PORT), which picks
    /// one knowing the destination. A plain bind to port 0 makes the kernel search for a port no socket
    /// on that address uses, a search that grows with every connection open: at 14,000 connections per
    /// source address, six load processes spent ~50 CPU-seconds each in it (docs/SCALING.md).
    private func bind(source: SocketAddress) -> Int32 {
        let fd = socket(source.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -errno }
        var on: Int32 = 1
        // 24 = IP_BIND_ADDRESS_NO_PORT (Linux 4.2; not in the Glibc module). Best effort: without it
        // the bind below still works, only slower.
        _ = setsockopt(fd, Int32(IPPROTO_IP), 24, &on, socklen_t(MemoryLayout<Int32>.size))
        let rc = uv_tcp_open(handle, uv_os_sock_t(fd))
        if rc < 0 {
            Glibc.close(fd)
            return rc
        }
        return source.withSockaddr { uv_tcp_bind(handle, $0, 0) }
    }

    private final class ConnectContext {
        let connection: TCPConnection
        let completion: (Result<TCPConnection, UVError>) -> Void
        init(connection: TCPConnection, completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
            self.connection = connection
            self.completion = completion
        }
    }

    // MARK: reading

    /// Starts (or resumes) reading; a socket libuv cannot read is closed with that error.
    public func startReading() {
        guard isOpen else { return }
        let rc = uv_read_start(stream, { h, suggested, buf in
            let loop = EventLoop.from(h!.pointee.loop)
            buf!.pointee = uv_buf_t(base: loop.readBuffer.assumingMemoryBound(to: CChar.self), len: loop.readBufferSize)
        }, { s, nread, buf in
            let connection = TCPConnection.from(s!)
            if nread > 0 {
                connection.didRead(UnsafeRawBufferPointer(start: buf!.pointee.base, count: nread))
            } else if nread < 0 {
                connection.closeError = nread == Int(UV_EOF.rawValue) ? nil : UVError(Int32(nread))
                connection.close()
            }
        })
        // EALREADY: reading already (a resume after no pause) is not an error.
        if rc < 0 && rc != Int32(UV_EALREADY.rawValue) {
            closeError = UVError(rc)
            close()
        }
    }

    public func stopReading() {
        guard isOpen else { return }
        uv_read_stop(stream)
    }

    private func didRead(_ bytes: UnsafeRawBufferPointer) {
        loop.corkedConnection = ObjectIdentifier(self)
        delegate?.connectionDidRead(self, bytes)
        flushCork()
    }

    private func flushCork() {
        guard loop.corkedConnection == ObjectIdentifier(self) else { return }
        loop.corkedConnection = nil
        let count = loop.corkCount
        loop.corkCount = 0
        if count > 0 { writeNow(UnsafeRawBufferPointer(start: loop.cork, count: count), shared: nil) }
    }

    // MARK: writing

    /// Writes bytes (copied only if the kernel does not take them at once).
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard isOpen, bytes.count > 0 else { return }
        if loop.corkedConnection == ObjectIdentifier(self) { corkAppend(bytes); return }
        writeNow(bytes, shared: nil)
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Writes a shared buffer; if it must be queued, the queue references it instead of copying.
    public func write(_ buffer: ByteBuffer) {
        guard isOpen, buffer.count > 0 else { return }
        if loop.corkedConnection == ObjectIdentifier(self) { corkAppend(buffer.bytes); return }
        writeNow(buffer.bytes, shared: buffer)
    }

    /// A method call through `loop` retains and releases it around the call (an `unowned(unsafe)` load
    /// is a strong copy); the loop outlives every connection (see `loop`), so borrow it instead.
    @inline(__always)
    private func corkAppend(_ bytes: UnsafeRawBufferPointer) {
        Unmanaged.passUnretained(loop)._withUnsafeGuaranteedRef { $0.corkAppend(bytes) }
    }

    private func writeNow(_ bytes: UnsafeRawBufferPointer, shared: ByteBuffer?) {
        var written = 0
        if queuedBytes == 0 {
            var buf = uv_buf_t(base: UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: CChar.self)),
                               len: bytes.count)
            let rc = uv_try_write(stream, &buf, 1)
            if rc >= 0 {
                written = Int(rc)
            } else if rc != Int32(UV_EAGAIN.rawValue) {
                closeError = UVError(rc)
                close()
                return
            }
        }
        if written == bytes.count { return }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[written...])
        let owner = shared ?? ByteBuffer(copying: rest)
        let base = shared == nil ? owner.base : UnsafeMutableRawPointer(mutating: rest.baseAddress!)
        enqueue(base: base, count: rest.count, owner: owner)
    }

    private final class PendingWrite {
        let owner: ByteBuffer
        let count: Int
        init(owner: ByteBuffer, count: Int) { self.owner = owner; self.count = count }
    }

    private func enqueue(base: UnsafeMutableRawPointer, count: Int, owner: ByteBuffer) {
        let req = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
        req.pointee.data = Unmanaged.passRetained(PendingWrite(owner: owner, count: count)).toOpaque()
        var buf = uv_buf_t(base: base.assumingMemoryBound(to: CChar.self), len: count)
        let rc = uv_write(req, stream, &buf, 1) { req, status in
            let pending = Unmanaged<PendingWrite>.fromOpaque(req!.pointee.data).takeRetainedValue()
            let connection = TCPConnection.from(req!.pointee.handle)
            req!.deallocate()
            connection.queuedBytes -= pending.count
            if status < 0 {
                if status != Int32(UV_ECANCELED.rawValue) {
                    connection.closeError = UVError(status)
                    connection.close()
                }
            } else if connection.queuedBytes == 0 && connection.isOpen {
                connection.delegate?.connectionDidDrain(connection)
            }
        }
        if rc < 0 {
            Unmanaged<PendingWrite>.fromOpaque(req.pointee.data).release()
            req.deallocate()
            closeError = UVError(rc)
            close()
            return
        }
        queuedBytes += count
    }

    // MARK: closing

    /// Sends what is queued, then half-closes (FIN after the last byte) and keeps reading, discarding,
    /// until the peer closes too or `lingerMs` passes. Closing at once would make the kernel answer
    /// bytes still in flight with a reset, which can destroy our last message (a close frame, an
    /// error response) before the peer reads it.
    public func shutdown(lingerMs: UInt64 = 2000) {
        guard isOpen, !isShuttingDown else { return }
        flushCork()
        guard isOpen else { return }
        isShuttingDown = true
        let req = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        let rc = uv_shutdown(req, stream) { req, status in
            let connection = TCPConnection.from(req!.pointee.handle)
            req!.deallocate()
            guard status >= 0, connection.isOpen else { connection.close(); return }
            connection.linger()
        }
        if rc < 0 {
            req.deallocate()
            close()
            return
        }
        lingerDeadlineMs = UInt32(clamping: lingerMs)
        uv_read_stop(stream)
    }

    private var lingerTimer: LoopTimer?

    private func linger() {
        delegate = delegate.map { _ in DiscardingDelegate(previous: delegate!) }
        let timer = LoopTimer(loop: loop)
        timer.start(timeoutMs: UInt64(lingerDeadlineMs)) { [weak self] in self?.close() }
        lingerTimer = timer
        startReading()
    }

    /// Swallows what a peer sends after our FIN, then reports the close to the real owner.
    private final class DiscardingDelegate: TCPConnectionDelegate {
        let previous: TCPConnectionDelegate
        init(previous: TCPConnectionDelegate) { self.previous = previous }
        func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {}
        func connectionDidClose(_ connection: TCPConnection, error: UVError?) { previous.connectionDidClose(connection, error: error) }
    }

    /// Closes now; queued writes are dropped. The delegate hears `connectionDidClose` from the close callback.
    public func close() {
        // First: a handle the loop's deinit already closed must not touch the loop being torn down.
        guard uv_is_closing(uvHandle) == 0 else { return }
        if loop.corkedConnection == ObjectIdentifier(self) {
            loop.corkedConnection = nil
            loop.corkCount = 0
        }
        isOpen = false
        lingerTimer?.close()
        lingerTimer = nil
        uv_close(uvHandle) { h in
            let connection = Unmanaged<TCPConnection>.fromOpaque(h!.pointee.data).takeRetainedValue()
            connection.ticket?.release()
            connection.ticket = nil
            let delegate = connection.delegate
            connection.delegate = nil
            delegate?.connectionDidClose(connection, error: connection.closeError)
            connection.handle.deallocate()
        }
    }

    /// The remote address, or nil once closed.
    public var peerAddress: SocketAddress? {
        guard isOpen else { return nil }
        var storage = sockaddr_storage()
        var len = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(handle, $0, &len) }
        }
        return rc == 0 ? SocketAddress(storage: storage) : nil
    }
}

@available(*, unavailable)
extension TCPConnection: Sendable {}
