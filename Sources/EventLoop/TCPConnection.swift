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

/// A TCP stream on one loop: a non-blocking socket in the loop's epoll set (`SocketPoller`). Writes go
/// out with `send` at once; only what the kernel did not take is queued (`queuedBytes`), so the owner
/// can enforce its own backpressure policy. The connection stays alive (and its delegate) from
/// creation until its close has been reported.
public final class TCPConnection {
    let fd: Int32
    /// What the poller waits for on `fd`; set only by `SocketPoller.setInterest`.
    var interest: UInt32 = 0
    /// Read on every read and write (the cork), so not reference-counted: a checked `unowned` costs
    /// ~4 % of ping/pong throughput (docs/BENCHMARKS.md). Lifetime: a connection is made on its loop's
    /// thread and used only there; the loop outlives it, because `EventLoop.deinit` closes every
    /// connection and reports those closes before it frees anything.
    public unowned(unsafe) let loop: EventLoop
    public var delegate: TCPConnectionDelegate?
    /// Bytes the kernel has not taken yet; nil while there are none (an idle connection holds no queue).
    private var writes: WriteQueue?
    private var lingerTimer: LoopTimer?
    /// Given back to the server's `ConnectionLimiter` when the close is reported.
    var ticket: ConnectionTicket?
    // Every idle connection holds this object: the small fields come last, in an order that packs
    // them into 13 bytes (IdleSessionSizeTests holds the size at glibc's 112-byte chunk).
    private var closeError: UVError?
    public private(set) var isOpen = true
    private var isReading = false
    private var isConnecting = false
    /// `shutdown()` was called: the FIN goes once the queue is empty.
    private var isShuttingDown = false
    /// The FIN went; reading (and discarding) until the peer closes or the linger time passes.
    private var isLingering = false
    private var lingerDeadlineMs: UInt32 = 0

    /// Bytes written but not yet taken by the kernel.
    public var queuedBytes: Int { writes?.bytes ?? 0 }
    /// Every byte written but not yet taken by the kernel: `queuedBytes` plus what waits in the loop's
    /// cork while this connection's read callback runs (replies to the bytes just read).
    public var unsentBytes: Int {
        queuedBytes + (loop.corkedConnection == ObjectIdentifier(self) ? loop.corkCount : 0)
    }

    /// Takes over `fd`, a non-blocking stream socket.
    init(loop: EventLoop, fd: Int32) {
        self.loop = loop
        self.fd = fd
        loop.poller.add(self)
    }

    /// Small JSON messages must not wait for Nagle's algorithm. A socket that refuses the option
    /// (already reset by the peer) is closed and the error returned.
    func configureAccepted() -> UVError? {
        var on: Int32 = 1
        guard setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 else {
            return nil
        }
        let error = UVError(-errno)
        closeError = error
        close()
        return error
    }

    // MARK: connect

    /// Opens a client connection, optionally bound to a local source address (several 127.0.0.x
    /// sources give a load generator more than 64 K ephemeral ports). A connect that fails after the
    /// socket exists is reported on a later turn of the loop, never from inside this call.
    public static func connect(loop: EventLoop, to address: SocketAddress, from source: SocketAddress? = nil,
                               completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, flags, 0)
        guard fd >= 0 else { completion(.failure(UVError(-errno))); return }
        if let source, let error = bind(fd, source: source) {
            Glibc.close(fd)
            completion(.failure(error))
            return
        }
        let connection = TCPConnection(loop: loop, fd: fd)
        connection.isConnecting = true
        connection.delegate = ConnectDelegate(completion)
        let rc = address.withSockaddr { Glibc.connect(fd, $0, address.length) }
        if rc < 0 && errno != EINPROGRESS {
            connection.closeError = UVError(-errno)
            connection.close()
            return
        }
        // Writable once connected (or failed): `finishConnect` reads the outcome.
        connection.updateInterest()
    }

    /// Binds to a source address but leaves the port to `connect` (IP_BIND_ADDRESS_NO_PORT), which picks
    /// one knowing the destination. A plain bind to port 0 makes the kernel search for a port no socket
    /// on that address uses, a search that grows with every connection open: at 14,000 connections per
    /// source address, six load processes spent ~50 CPU-seconds each in it (docs/SCALING.md).
    private static func bind(_ fd: Int32, source: SocketAddress) -> UVError? {
        var on: Int32 = 1
        // 24 = IP_BIND_ADDRESS_NO_PORT (Linux 4.2; not in the Glibc module). Best effort: without it
        // the bind below still works, only slower.
        _ = setsockopt(fd, Int32(IPPROTO_IP), 24, &on, socklen_t(MemoryLayout<Int32>.size))
        let rc = source.withSockaddr { Glibc.bind(fd, $0, source.length) }
        return rc == 0 ? nil : UVError(-errno)
    }

    private func finishConnect() {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0 { error = errno }
        guard error == 0 else {
            closeError = UVError(-error)
            close()
            return
        }
        isConnecting = false
        updateInterest()
        // A refusal here closed the connection; its close tells the ConnectDelegate.
        guard isOpen, configureAccepted() == nil else { return }
        let connecting = delegate as? ConnectDelegate
        delegate = nil
        connecting?.completion(.success(self))
    }

    /// Holds the completion while connecting: a close before the connection is up reports the failure.
    private final class ConnectDelegate: TCPConnectionDelegate {
        let completion: (Result<TCPConnection, UVError>) -> Void
        init(_ completion: @escaping (Result<TCPConnection, UVError>) -> Void) { self.completion = completion }
        func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {}
        func connectionDidClose(_ connection: TCPConnection, error: UVError?) { completion(.failure(error ?? .canceled)) }
    }

    // MARK: events

    /// What the poller saw on `fd`.
    func handle(events: UInt32) {
        if isConnecting {
            finishConnect()
            return
        }
        // An error or hang-up surfaces as the failure of the send or recv it wakes.
        if events & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            if writes != nil {
                flush()
            } else if isShuttingDown && !isLingering {
                sendFIN()
            }
        }
        if isOpen, isReading, events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            read()
        }
    }

    /// Tells the poller what to wait for now; a socket epoll refuses is closed with that error.
    private func updateInterest() {
        guard isOpen else { return }
        var mask: UInt32 = isReading ? EPOLLIN.rawValue : 0
        if isConnecting || writes != nil || (isShuttingDown && !isLingering) { mask |= EPOLLOUT.rawValue }
        let rc = Unmanaged.passUnretained(loop)._withUnsafeGuaranteedRef { $0.poller.setInterest(self, mask) }
        if rc < 0 {
            closeError = UVError(rc)
            close()
        }
    }

    // MARK: reading

    /// Starts (or resumes) reading.
    public func startReading() {
        guard isOpen, !isReading, !isShuttingDown || isLingering else { return }
        isReading = true
        updateInterest()
    }

    public func stopReading() {
        guard isOpen, isReading else { return }
        isReading = false
        updateInterest()
    }

    /// Reads until the socket is empty, at most 8 buffers a turn: level-triggered epoll reports what
    /// is left on the next turn, so one busy peer cannot starve the others.
    private func read() {
        let (buffer, size) = Unmanaged.passUnretained(loop)._withUnsafeGuaranteedRef { ($0.readBuffer, $0.readBufferSize) }
        for _ in 0..<8 {
            let count = recv(fd, buffer, size, 0)
            guard count > 0 else { return readEnded(count) }
            didRead(UnsafeRawBufferPointer(start: buffer, count: count))
            // A short read emptied the socket; the delegate may have stopped reading or closed.
            guard count == size, isOpen, isReading else { return }
        }
    }

    private func readEnded(_ count: Int) {
        if count == 0 {
            closeError = nil
            close()
        } else {
            let error = errno
            guard error != EAGAIN, error != EWOULDBLOCK, error != EINTR else { return }
            closeError = UVError(-error)
            close()
        }
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

    /// Writes bytes (copied only if the kernel does not take them at once). Nothing is written once
    /// `shutdown()` was called.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard isOpen, !isShuttingDown, bytes.count > 0 else { return }
        if loop.corkedConnection == ObjectIdentifier(self) { corkAppend(bytes); return }
        writeNow(bytes, shared: nil)
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Writes a shared buffer; if it must be queued, the queue references it instead of copying.
    public func write(_ buffer: ByteBuffer) {
        guard isOpen, !isShuttingDown, buffer.count > 0 else { return }
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
        if writes == nil {
            let rc = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if rc >= 0 {
                written = rc
            } else {
                let error = errno
                guard error == EAGAIN || error == EWOULDBLOCK || error == EINTR else {
                    closeError = UVError(-error)
                    close()
                    return
                }
            }
        }
        if written == bytes.count { return }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[written...])
        let entry: WriteQueue.Entry
        if let shared {
            entry = WriteQueue.Entry(owner: shared, offset: rest.baseAddress! - UnsafeRawPointer(shared.base), end: shared.count)
        } else {
            let copy = ByteBuffer(copying: rest)
            entry = WriteQueue.Entry(owner: copy, offset: 0, end: copy.count)
        }
        if let writes {
            writes.append(entry)
        } else {
            writes = WriteQueue(entry)
            updateInterest()
        }
    }

    /// Sends what the kernel takes of the queue; an emptied queue reports the drain (or sends the FIN
    /// that `shutdown()` asked for).
    private func flush() {
        guard let writes else { return }
        // Until the kernel's buffer is full: a long queue (a replay to a reader that caught up) goes
        // out in one turn, not 64 entries a turn.
        while writes.bytes > 0 {
            let (rc, offered) = writes.write(to: fd)
            if rc < 0 {
                guard rc != -Int(EAGAIN), rc != -Int(EWOULDBLOCK), rc != -Int(EINTR) else { return }
                closeError = UVError(Int32(rc))
                close()
                return
            }
            writes.consume(rc)
            if rc < offered { break }
        }
        guard writes.bytes == 0 else { return }
        self.writes = nil
        if isShuttingDown {
            sendFIN()
            return
        }
        updateInterest()
        if isOpen { delegate?.connectionDidDrain(self) }
    }

    /// The bytes the kernel has not taken, in order. Each entry keeps its buffer alive: a shared event
    /// frame is queued by reference on every slow subscriber, not copied.
    private final class WriteQueue {
        struct Entry {
            let owner: ByteBuffer
            var offset: Int
            let end: Int
        }

        /// Entries before `head` are sent; they are dropped in batches, so sending stays linear in
        /// the queue's length.
        private var entries: [Entry]
        private var head = 0
        private(set) var bytes: Int

        init(_ first: Entry) {
            entries = [first]
            bytes = first.end - first.offset
        }

        func append(_ entry: Entry) {
            entries.append(entry)
            bytes += entry.end - entry.offset
        }

        /// One `writev` of up to 64 entries: the bytes written (or a negative errno), and the bytes offered.
        func write(to fd: Int32) -> (Int, offered: Int) {
            let count = min(entries.count - head, 64)
            return withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { vector in
                var offered = 0
                for i in 0..<count {
                    let entry = entries[head + i]
                    vector[i] = iovec(iov_base: entry.owner.base + entry.offset, iov_len: entry.end - entry.offset)
                    offered += entry.end - entry.offset
                }
                let rc = writev(fd, vector.baseAddress, Int32(count))
                return (rc >= 0 ? rc : -Int(errno), offered)
            }
        }

        func consume(_ count: Int) {
            bytes -= count
            var left = count
            while left > 0 {
                let size = entries[head].end - entries[head].offset
                if left < size {
                    entries[head].offset += left
                    break
                }
                left -= size
                head += 1
            }
            if head >= 64 && head * 2 >= entries.count {
                entries.removeFirst(head)
                head = 0
            }
        }
    }

    // MARK: closing

    /// Sends what is queued, then half-closes (FIN after the last byte) and keeps reading, discarding,
    /// until the peer closes too or `lingerMs` passes. Closing at once would make the kernel answer
    /// bytes still in flight with a reset, which can destroy our last message (a close frame, an
    /// error response) before the peer reads it. The FIN goes on a later turn of the loop.
    public func shutdown(lingerMs: UInt64 = 2000) {
        guard isOpen, !isShuttingDown else { return }
        flushCork()
        guard isOpen else { return }
        isShuttingDown = true
        lingerDeadlineMs = UInt32(clamping: lingerMs)
        isReading = false
        updateInterest()
    }

    private func sendFIN() {
        guard Glibc.shutdown(fd, Int32(SHUT_WR)) == 0 else {
            close()
            return
        }
        isLingering = true
        delegate = delegate.map { DiscardingDelegate(previous: $0) }
        let timer = LoopTimer(loop: loop)
        timer.start(timeoutMs: UInt64(lingerDeadlineMs)) { [weak self] in self?.close() }
        lingerTimer = timer
        isReading = true
        updateInterest()
    }

    /// Swallows what a peer sends after our FIN, then reports the close to the real owner.
    private final class DiscardingDelegate: TCPConnectionDelegate {
        let previous: TCPConnectionDelegate
        init(previous: TCPConnectionDelegate) { self.previous = previous }
        func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {}
        func connectionDidClose(_ connection: TCPConnection, error: UVError?) { previous.connectionDidClose(connection, error: error) }
    }

    /// Closes now; queued writes are dropped. The delegate hears `connectionDidClose` on the loop's
    /// next turn.
    public func close() {
        guard isOpen else { return }
        if loop.corkedConnection == ObjectIdentifier(self) {
            loop.corkedConnection = nil
            loop.corkCount = 0
        }
        isOpen = false
        writes = nil
        lingerTimer?.close()
        lingerTimer = nil
        Unmanaged.passUnretained(loop)._withUnsafeGuaranteedRef { $0.poller.remove(self) }
    }

    /// From `SocketPoller.closeAll` when the loop goes away: the socket is closed and the delegate let go
    /// of without a call.
    func abandon() {
        guard isOpen else { return }
        isOpen = false
        Glibc.close(fd)
        writes = nil
        lingerTimer?.close()
        lingerTimer = nil
        ticket?.release()
        ticket = nil
        delegate = nil
    }

    /// From the poller, a turn after `close()`.
    func didClose() {
        ticket?.release()
        ticket = nil
        let delegate = self.delegate
        self.delegate = nil
        delegate?.connectionDidClose(self, error: closeError)
    }

    /// The remote address, or nil once closed.
    public var peerAddress: SocketAddress? {
        isOpen ? SocketAddress(of: fd, getpeername) : nil
    }
}

@available(*, unavailable)
extension TCPConnection: Sendable {}
