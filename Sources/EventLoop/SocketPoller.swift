@preconcurrency import CLibUV
import Glibc

/// The loop's own epoll set for its TCP connections. libuv's `uv_tcp_t` costs 248 bytes per
/// connection, half of what an idle hub connection may cost in all (docs/SCALING.md); here a
/// connection is a descriptor in this set and a slot in `connections`, and one `uv_poll_t` on the epoll
/// descriptor wakes the loop when any of them is ready (uSockets works the same way).
///
/// Level-triggered: a connection that leaves bytes unread is reported again on the next turn.
final class SocketPoller {
    private let epfd: Int32
    private let poll: UnsafeMutablePointer<uv_poll_t>
    private let idle: UnsafeMutablePointer<uv_idle_t>
    private let events: UnsafeMutablePointer<epoll_event>
    private let maxEvents: Int32 = 256
    /// Indexed by descriptor. The strong reference that keeps an open connection alive.
    private var connections: [TCPConnection?] = []
    /// Connections with a non-empty interest set. The poll handle is active while there are any, so
    /// the loop runs while something waits for a socket, as it did with one libuv handle each.
    private var watching = 0
    /// Closed connections whose owners have not heard yet: told on the loop's next turn, as libuv
    /// runs close callbacks, so a close never re-enters the code that asked for it.
    private var closed: [TCPConnection] = []

    init(loop: UnsafeMutablePointer<uv_loop_t>) throws(UVError) {
        let fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw UVError(-errno) }
        epfd = fd
        poll = .allocate(capacity: 1)
        idle = .allocate(capacity: 1)
        events = .allocate(capacity: Int(maxEvents))
        let rc = uv_poll_init(loop, poll, fd)
        guard rc == 0 else {
            Glibc.close(fd)
            poll.deallocate(); idle.deallocate(); events.deallocate()
            throw UVError(rc)
        }
        // Cannot fail for a valid loop.
        _ = uv_idle_init(loop, idle)
        // Unretained: the loop owns this poller and closes both handles before it lets go of it.
        let me = Unmanaged.passUnretained(self).toOpaque()
        poll.pointee.data = me
        idle.pointee.data = me
    }

    // MARK: registration

    func add(_ connection: TCPConnection) {
        let fd = Int(connection.fd)
        if fd >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(fd + 1, connections.count * 2, 64) - connections.count))
        }
        connections[fd] = connection
    }

    /// Sets what the connection waits for (`EPOLLIN`, `EPOLLOUT`, both or none); an empty set takes the
    /// descriptor out of epoll, as libuv does for a handle nobody watches. Returns 0 or a negative errno.
    func setInterest(_ connection: TCPConnection, _ mask: UInt32) -> Int32 {
        let old = connection.interest
        guard old != mask else { return 0 }
        var event = epoll_event()
        event.events = mask
        event.data.fd = connection.fd
        let op = old == 0 ? EPOLL_CTL_ADD : mask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD
        guard epoll_ctl(epfd, op, connection.fd, &event) == 0 else { return -errno }
        connection.interest = mask
        if old == 0 {
            watching += 1
            if watching == 1 {
                uv_poll_start(poll, Int32(UV_READABLE.rawValue)) { handle, _, _ in
                    Unmanaged<SocketPoller>.fromOpaque(handle!.pointee.data).takeUnretainedValue().dispatch()
                }
            }
        } else if mask == 0 {
            watching -= 1
            if watching == 0 { uv_poll_stop(poll) }
        }
        return 0
    }

    /// Takes the connection out (its descriptor is closed) and tells its owner on the next turn.
    func remove(_ connection: TCPConnection) {
        _ = setInterest(connection, 0)
        Glibc.close(connection.fd)
        let fd = Int(connection.fd)
        if fd < connections.count, connections[fd] === connection { connections[fd] = nil }
        closed.append(connection)
        if closed.count == 1 {
            uv_idle_start(idle) { handle in
                Unmanaged<SocketPoller>.fromOpaque(handle!.pointee.data).takeUnretainedValue().reportClosed()
            }
        }
    }

    // MARK: callbacks

    private func dispatch() {
        let count = epoll_wait(epfd, events, maxEvents, 0)
        guard count > 0 else { return }
        for i in 0..<Int(count) {
            let event = events[i]
            let fd = Int(event.data.fd)
            // Gone already: closed by an earlier event of this batch.
            guard fd < connections.count, let connection = connections[fd] else { continue }
            connection.handle(events: event.events)
        }
    }

    private func reportClosed() {
        // Closes reported here may close more connections: those wait for the next turn.
        let batch = closed
        closed = []
        uv_idle_stop(idle)
        for connection in batch { connection.didClose() }
    }

    // MARK: teardown

    /// For the loop's deinit. Closes already asked for are reported, as libuv ran pending close
    /// callbacks; connections still open are closed without a word to their delegates, as libuv
    /// closed a handle nobody had closed: by now their owners may be half torn down themselves.
    func closeAll() {
        while !closed.isEmpty { reportClosed() }
        let open = connections
        connections = []
        for connection in open { connection?.abandon() }
    }

    /// After the loop closed the two handles (its deinit closes every handle left) and ran.
    func deallocate() {
        Glibc.close(epfd)
        poll.deallocate()
        idle.deallocate()
        events.deallocate()
    }
}

@available(*, unavailable)
extension SocketPoller: Sendable {}
