import Foundation
import Glibc
import TestSupport

/// A TCP proxy in front of a real redis-server that can hurt the connections it carries: hold
/// traffic in one direction (bytes stay in the kernel buffers, as with a stalled peer), or reset
/// every connection (close with SO_LINGER 0, which sends a RST instead of a FIN). One thread
/// polls every socket; the controls are flags it reads between polls.
final class FaultProxy: @unchecked Sendable {
    let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var holdRequests = false
    private var holdReplies = false
    private var resetRequested = false
    private var stopped = false
    private var thread: Thread?
    /// client socket → upstream socket
    private var pairs: [(client: Int32, upstream: Int32)] = []

    init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        port = freeTCPPort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(port)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw NSError(domain: "FaultProxy", code: Int(errno)) }
        let thread = Thread { [self] in run() }
        self.thread = thread
        thread.start()
    }

    /// Client → server bytes stay unread while held.
    func setHoldRequests(_ on: Bool) { lock.withLock { holdRequests = on }; settle() }
    /// Server → client bytes stay unread while held.
    func setHoldReplies(_ on: Bool) { lock.withLock { holdReplies = on }; settle() }
    /// Resets every connection carried so far (the proxy keeps accepting new ones).
    func resetAll() { lock.withLock { resetRequested = true }; settle() }

    private var iterations = 0
    /// Returns once the proxy thread has started a poll with the new flags (a poll already under
    /// way used the old ones).
    private func settle() {
        let start = lock.withLock { iterations }
        while lock.withLock({ iterations }) < start + 2 { usleep(500) }
    }
    var connectionCount: Int { lock.withLock { pairs.count } }

    func stop() {
        lock.withLock { stopped = true }
        while thread?.isFinished == false { usleep(1000) }
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let (holdUp, holdDown, reset, stop) = lock.withLock { () -> (Bool, Bool, Bool, Bool) in
                defer { resetRequested = false; iterations += 1 }
                return (holdRequests, holdReplies, resetRequested, stopped)
            }
            if stop || reset {
                for pair in lock.withLock({ pairs }) {
                    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                    setsockopt(pair.client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
                    close(pair.client)
                    close(pair.upstream)
                }
                lock.withLock { pairs = [] }
                if stop { close(listener); return }
            }
            let current = lock.withLock { pairs }
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for pair in current {
                fds.append(pollfd(fd: pair.client, events: holdUp ? 0 : Int16(POLLIN), revents: 0))
                fds.append(pollfd(fd: pair.upstream, events: holdDown ? 0 : Int16(POLLIN), revents: 0))
            }
            guard poll(&fds, nfds_t(fds.count), 10) > 0 else { continue }
            if fds[0].revents & Int16(POLLIN) != 0 { accept() }
            var dead: Set<Int32> = []
            for (i, pair) in current.enumerated() {
                for (from, to, index) in [(pair.client, pair.upstream, 1 + 2 * i), (pair.upstream, pair.client, 2 + 2 * i)]
                where fds[index].revents != 0 {
                    let n = recv(from, &buffer, buffer.count, 0)
                    if n <= 0 || send(to, buffer, n, Int32(MSG_NOSIGNAL)) != n { dead.insert(pair.client) }
                }
            }
            if !dead.isEmpty {
                lock.withLock {
                    pairs.removeAll { pair in
                        guard dead.contains(pair.client) else { return false }
                        close(pair.client)
                        close(pair.upstream)
                        return true
                    }
                }
            }
        }
    }

    private func accept() {
        let client = Glibc.accept(listener, nil, nil)
        guard client >= 0 else { return }
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = Self.loopback(upstreamPort)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { close(client); close(upstream); return }
        lock.withLock { pairs.append((client, upstream)) }
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return addr
    }
}
