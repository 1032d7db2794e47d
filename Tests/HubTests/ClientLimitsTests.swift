import Attendance
import EventLoop
import Foundation
import Glibc
import JSON
import TestSupport
import WebSocket
import XCTest

/// One client cannot starve the others: the per-connection budget, the send-queue limit applied to
/// pongs, and the connection caps (PROTOCOL.md "Per-connection budget", "Connection caps").
final class ClientLimitsTests: HubTestCase {
    /// WebSocket ping frames from a client that never reads: every pong counts against the send-queue
    /// limit, so the hub drops the client (1013) instead of queueing pongs without bound.
    func testPingFramesFromAClientThatNeverReadsAreCutOff() throws {
        let hub = try startHub()
        let attacker = try XCTUnwrap(RawWebSocket(port: hub.port, path: "/ws?access_token=\(token(.teacher, "t1"))", receiveBuffer: 4096))
        XCTAssertEqual(attacker.status, 101)
        let rssBefore = residentKiB(pid: hub.pid)
        // 125-byte pings: each asks for a 127-byte pong. 64 MiB of them is 64 × the queue limit.
        var frames: [UInt8] = []
        for _ in 0..<512 { frames += RawWebSocket.maskedFrame(opcode: 0x9, payload: [UInt8](repeating: 0x61, count: 125)) }
        var sent = 0
        while sent < 64 << 20, attacker.send(frames) { sent += frames.count }
        XCTAssertLessThan(sent, 64 << 20, "the hub kept reading pings without dropping the client")
        XCTAssertTrue(waitFor { self.metric(hub, "attendance_hub_send_queue_drops_total") == 1 })
        let growthKiB = residentKiB(pid: hub.pid) - rssBefore
        // Under AddressSanitizer (make sanitize) freed memory stays resident in its quarantine.
        let boundKiB = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] == nil ? 8 * 1024 : 32 * 1024
        XCTAssertLessThan(growthKiB, boundKiB, "hub RSS grew by \(growthKiB) KiB")
        // Everyone else is still served.
        let other = connected(hub, token: token(.teacher, "t2"))
        other.send(["type": "ping", "id": "1"])
        XCTAssertTrue(runLoop(loop) { !other.messages(type: "pong").isEmpty })
    }

    /// JSON pings from a client that never reads: the replies are bounded the same way.
    func testJSONPingsFromAClientThatNeverReadsAreCutOff() throws {
        let hub = try startHub()
        let attacker = try XCTUnwrap(RawWebSocket(port: hub.port, path: "/ws?access_token=\(token(.teacher, "t1"))", receiveBuffer: 4096))
        XCTAssertEqual(attacker.status, 101)
        var frames: [UInt8] = []
        for i in 0..<256 { frames += RawWebSocket.maskedFrame(opcode: 0x1, payload: Array(#"{"type":"ping","id":"\#(i)"}"#.utf8)) }
        var sent = 0
        while sent < 64 << 20, attacker.send(frames) { sent += frames.count }
        XCTAssertLessThan(sent, 64 << 20)
        XCTAssertTrue(waitFor { self.metric(hub, "attendance_hub_send_queue_drops_total") == 1 })
    }

    /// 5,000 subscribe/unsubscribe pairs in one burst: a few dozen reach Redis, the rest are answered
    /// `rate_limited`, and the client is closed with 1008 once it keeps going.
    func testSubscribeFloodIsRateLimitedThenClosed() throws {
        let hub = try startHub()
        let created = try createClass(teacher: "t1")
        let bystander = connected(hub, token: token(.teacher, "t2"))
        let flooder = connected(hub, token: token(.teacher, "t1"))
        let scriptsBefore = redisCalls("evalsha")
        for i in 0..<5000 {
            flooder.send(["type": "subscribe", "class_id": created.classId, "id": "s\(i)"])
            flooder.send(["type": "unsubscribe", "class_id": created.classId])
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 20000) { flooder.closeCode != nil })
        XCTAssertEqual(flooder.closeCode, WebSocketCloseCode.policyViolation)
        XCTAssertEqual(flooder.closeReason, "rate limit exceeded")
        let limited = flooder.messages.filter { $0["code"]?.string == "rate_limited" }
        XCTAssertFalse(limited.isEmpty)
        XCTAssertTrue(limited.allSatisfy { $0["type"]?.string == "error" })
        XCTAssertLessThanOrEqual(flooder.messages(type: "subscribed").count, 100)
        let scripts = redisCalls("evalsha") - scriptsBefore
        XCTAssertLessThan(scripts, 200, "\(scripts) scripts ran for 5,000 subscribes")
        XCTAssertGreaterThan(metric(hub, "attendance_hub_rate_limited_total") ?? 0, 0)
        XCTAssertEqual(metric(hub, "attendance_hub_rate_limit_closes_total"), 1)
        bystander.send(["type": "ping", "id": "b"])
        XCTAssertTrue(runLoop(loop) { !bystander.messages(type: "pong").isEmpty })
        XCTAssertNil(bystander.closeCode)
    }

    /// A real dashboard's burst (subscribing to many classes at once, then pinging) stays within budget.
    func testDashboardBurstStaysWithinBudget() throws {
        let hub = try startHub()
        let dashboard = connected(hub, token: token(.admin, "a1"))
        for i in 0..<64 { dashboard.send(["type": "subscribe", "class_id": "c\(i)", "id": "s\(i)"]) }
        for i in 0..<1000 { dashboard.send(["type": "ping", "id": "p\(i)"]) }
        XCTAssertTrue(runLoop(loop, timeoutMs: 20000) { dashboard.messages(type: "pong").count == 1000 })
        XCTAssertFalse(dashboard.messages.contains { $0["code"]?.string == "rate_limited" })
        XCTAssertNil(dashboard.closeCode)
    }

    /// Beyond the per-address cap the upgrade is answered 503 with Retry-After and an error JSON; a
    /// closed connection frees its place.
    func testConnectionsBeyondThePerAddressCapGet503() throws {
        let hub = try startHub(extra: ["--max-connections-per-address", "3"])
        let path = "/ws?access_token=\(token(.teacher, "t1"))"
        let first = try XCTUnwrap(RawWebSocket(port: hub.port, path: path))
        let kept = (0..<2).compactMap { _ in RawWebSocket(port: hub.port, path: path) }
        XCTAssertEqual(([first] + kept).map(\.status), [101, 101, 101])
        let refused = try XCTUnwrap(RawWebSocket(port: hub.port, path: path))
        XCTAssertEqual(refused.status, 503)
        XCTAssertTrue(refused.head.lowercased().contains("retry-after: 5"), refused.head)
        XCTAssertTrue(refused.head.contains(#""code":"unavailable""#), refused.head)
        first.close()
        // Once the hub saw the close, a third connection (this metrics request) is admitted again.
        XCTAssertTrue(waitFor { (self.metric(hub, "attendance_hub_connections_refused_total") ?? 0) >= 1 })
        XCTAssertTrue(waitFor { RawWebSocket(port: hub.port, path: path)?.status == 101 })
    }

    /// A hub whose open-file limit is low keeps descriptors for Redis: beyond the total cap it answers
    /// 503, keeps serving its clients, does not spin, and accepts again once connections close.
    func testTotalCapStaysBelowTheOpenFileLimit() throws {
        let hub = try LimitedHub(openFiles: 200, extra: [])
        defer { hub.stop() }
        let client = TestClient.connect(loop: loop, port: hub.port, token: token(.teacher, "t1"))
        XCTAssertTrue(runLoop(loop) { client.isConnected })
        let path = "/ws?access_token=\(token(.teacher, "t2"))"
        let sockets = (0..<200).compactMap { _ in RawWebSocket(port: hub.port, path: path, timeoutS: 5) }
        let upgraded = sockets.filter { $0.status == 101 }.count
        let refused = sockets.filter { $0.status == 503 }.count
        XCTAssertGreaterThan(upgraded, 10)
        XCTAssertLessThan(upgraded, 200 - 96)
        XCTAssertGreaterThan(refused, 0)
        assertServesWithoutSpinning(hub: hub, client: client)
        for socket in sockets { socket.close() }
        XCTAssertTrue(waitFor { RawWebSocket(port: hub.port, path: path)?.status == 101 })
    }

    /// Out of descriptors (a cap set above the open-file limit, two workers racing for the descriptor
    /// libuv keeps spare for EMFILE): accepting pauses instead of spinning, existing clients keep being
    /// served, and accepting resumes once descriptors are free. (Before: one worker retried accept
    /// forever at 100 % CPU, logging each failure, and never answered again.)
    func testAcceptDoesNotSpinAtEMFILE() throws {
        let hub = try LimitedHub(openFiles: 64, extra: ["--workers", "2", "--max-connections", "100000"])
        defer { hub.stop() }
        let client = TestClient.connect(loop: loop, port: hub.port, token: token(.teacher, "t1"))
        XCTAssertTrue(runLoop(loop) { client.isConnected })
        let opened = SocketBox()
        let port = hub.port
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<100 {
                if let socket = RawWebSocket(port: port, path: "/healthz", upgrade: false, timeoutS: 1) { opened.add(socket) }
            }
        }
        assertServesWithoutSpinning(hub: hub, client: client)
        opened.closeAll()
        XCTAssertTrue(waitFor { RawWebSocket(port: hub.port, path: "/healthz", upgrade: false, timeoutS: 2)?.status == 200 })
    }

    // MARK: helpers

    private func assertServesWithoutSpinning(hub: LimitedHub, client: TestClient, file: StaticString = #filePath, line: UInt = #line) {
        let before = cpuTicks(pid: hub.pid)
        client.send(["type": "ping", "id": "alive"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { !client.messages(type: "pong").isEmpty }, file: file, line: line)
        runLoop(loop, timeoutMs: 2000) { false }
        // A spinning accept loop burns a whole core: about 200 ticks in these 2 s.
        let ticks = cpuTicks(pid: hub.pid) - before
        XCTAssertLessThan(ticks, 100, "the hub used \(ticks) ticks of CPU while idle", file: file, line: line)
        XCTAssertNil(client.closeCode, file: file, line: line)
    }

    private func waitFor(timeoutS: Double = 20, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutS)
        while Date() < deadline {
            if condition() { return true }
            runLoop(loop, timeoutMs: 50) { false }
        }
        return condition()
    }

    private func redisCalls(_ command: String) -> Int {
        let stats = RedisServer.shared.cli("INFO", "commandstats")
        guard let line = stats.split(separator: "\n").first(where: { $0.hasPrefix("cmdstat_\(command):") }),
              let calls = line.split(separator: ",").first?.split(separator: "=").last else { return 0 }
        return Int(calls) ?? 0
    }
}

/// Sockets opened from several threads.
final class SocketBox: @unchecked Sendable {
    private let lock = NSLock()
    private var sockets: [RawWebSocket] = []
    func add(_ socket: RawWebSocket) { lock.lock(); sockets.append(socket); lock.unlock() }
    func closeAll() { lock.lock(); for socket in sockets { socket.close() }; sockets = []; lock.unlock() }
}

/// `VmRSS` of a process, in KiB.
func residentKiB(pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
    return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
}

/// User + system CPU time of a process, in clock ticks (1/100 s).
func cpuTicks(pid: Int32) -> Int {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, utime 14, stime 15.
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
}

/// An `attendance hub` started by a shell that lowered its open-file limit first.
final class LimitedHub {
    let port = freeTCPPort()
    private let process = Process()

    init(openFiles: Int, extra: [String]) throws {
        let redis = RedisServer.shared
        let command = ([AttendanceProcess.executable, "hub", "--dev", "--listen", "127.0.0.1:\(port)", "--redis", redis.url,
                        "--log-level", "error"] + extra).joined(separator: " ")
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -n \(openFiles) && exec \(command)"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, httpStatus(port: port, path: "/healthz") != 200 {
            guard process.isRunning else { break }
            usleep(20_000)
        }
        guard httpStatus(port: port, path: "/healthz") == 200 else {
            stop()
            throw NSError(domain: "LimitedHub", code: 1, userInfo: [NSLocalizedDescriptionKey: "hub did not start"])
        }
    }

    var pid: Int32 { process.processIdentifier }

    /// SIGTERM; SIGKILL if the hub has not exited 10 s later (a spinning loop never sees the signal).
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A blocking client socket that sends one HTTP request (a WebSocket upgrade by default) and reads
/// the response head, then sends whatever the test wants and never reads again.
final class RawWebSocket {
    let fd: Int32
    private var closed = false
    private(set) var status = 0
    private(set) var head = ""

    init?(port: Int, path: String, upgrade: Bool = true, receiveBuffer: Int32? = nil, timeoutS: Int = 10) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { closed = true; return nil }
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var timeout = timeval(tv_sec: timeoutS, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { closed = true; Glibc.close(fd); return nil }
        let request = upgrade
            ? "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            : "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        guard send(Array(request.utf8)) else { return }
        // Byte by byte up to the blank line, so nothing after the head is consumed.
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while !bytes.suffix(4).elementsEqual([13, 10, 13, 10]), bytes.count < 16384, recv(fd, &byte, 1, 0) == 1 { bytes.append(byte) }
        // A refusal has a body: read what is there (it arrives with the head).
        var body = [UInt8](repeating: 0, count: 4096)
        if String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 5") {
            let n = recv(fd, &body, body.count, 0)
            if n > 0 { bytes += body[0..<n] }
        }
        head = String(decoding: bytes, as: UTF8.self)
        if head.hasPrefix("HTTP/1.1 "), let code = Int(head.dropFirst(9).prefix(3)) { status = code }
    }

    /// False once the peer reset or closed the connection (or a send timed out).
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    deinit { close() }

    /// A client frame (masked, FIN set) with a payload of at most 125 bytes.
    static func maskedFrame(opcode: UInt8, payload: [UInt8]) -> [UInt8] {
        precondition(payload.count <= 125)
        let mask: [UInt8] = [1, 2, 3, 4]
        return [0x80 | opcode, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    }
}
