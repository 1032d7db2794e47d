import Foundation
import Glibc

/// A real redis-server for tests, on a free port, with its data in a temporary folder.
/// `RedisServer.shared` is one instance per test process: the one `make test` started
/// (ATTENDANCE_TEST_REDIS_PORT), or one started here and stopped when the process exits.
public final class RedisServer: @unchecked Sendable {
    public private(set) var port: Int
    public let host = "127.0.0.1"
    private var process: Process?
    public let directory: String
    private let owned: Bool
    private let extraArguments: [String]
    /// AOF with `appendfsync always` (Config/redis.conf's durability): what a restart after `kill -9`
    /// must recover every acknowledged write from.
    public let durable: Bool

    public var url: String { "redis://\(host):\(port)" }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var sharedInstance: RedisServer?

    public static var shared: RedisServer {
        lock.lock(); defer { lock.unlock() }
        if let s = sharedInstance { return s }
        let server: RedisServer
        if let text = ProcessInfo.processInfo.environment["ATTENDANCE_TEST_REDIS_PORT"], let port = Int(text) {
            server = RedisServer(externalPort: port)
        } else {
            server = try! RedisServer()
            atexit { RedisServer.sharedInstance?.stop() }
        }
        sharedInstance = server
        return server
    }

    private init(externalPort: Int) {
        port = externalPort
        directory = NSTemporaryDirectory()
        owned = false
        durable = false
        extraArguments = []
    }

    /// Starts a private redis-server (for tests that stop, kill or restart it); `durable` turns on
    /// the AOF with `appendfsync always`; `arguments` are added to its command line (e.g.
    /// `["--replicaof", "127.0.0.1", "6379"]`).
    public init(port: Int? = nil, durable: Bool = false, arguments: [String] = []) throws {
        self.port = port ?? freeTCPPort()
        extraArguments = arguments
        directory = NSTemporaryDirectory() + "attendance-redis-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        owned = true
        self.durable = durable
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try start()
    }

    public func start() throws {
        guard owned else { return }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.redisServerPath())
        p.arguments = arguments + ["--daemonize", "no"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if redisPing(host: host, port: port) { return }
            usleep(20_000)
        }
        throw NSError(domain: "RedisServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "redis-server did not start on port \(port)"])
    }

    /// The server's arguments (without `--daemonize`); the same every start, so a restart reads the
    /// AOF the killed server wrote. The pid file names whichever server runs, even one another
    /// process restarted (`restartCommand`).
    public var arguments: [String] {
        ["--port", "\(port)", "--bind", host, "--dir", directory, "--save", "", "--loglevel", "warning",
         "--pidfile", pidFile] + (durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]) + extraArguments
    }

    public var pidFile: String { directory + "/redis.pid" }

    /// A shell command that starts this server again in the background, for a chaos runner
    /// (`attendance-load --redis-restart`); `stop()` still finds it through the pid file.
    public var restartCommand: String {
        ([Self.redisServerPath()] + arguments + ["--daemonize", "yes"]).map { "'\($0)'" }.joined(separator: " ")
    }

    /// The pid of the running server: our child, or one started by `restartCommand`.
    public var pid: Int32 {
        if let p = process, p.isRunning { return p.processIdentifier }
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
              pid > 0, Self.isAlive(pid) else { return 0 }
        return pid
    }

    /// True while `pid` runs; a killed server nobody reaped yet (a zombie) counts as gone.
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
    }

    /// Sends `signal` to the running server.
    public func signal(_ signal: Int32) {
        let pid = self.pid
        if pid > 0 { kill(pid, signal) }
    }

    /// `kill -9`: no shutdown, no final fsync; only what the AOF already holds survives.
    public func kill9() {
        guard owned else { return }
        let pid = self.pid
        guard pid > 0 else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        process?.waitUntilExit()
        process = nil
        // A server started by someone else is not our child: wait until it is gone.
        let deadline = Date().addingTimeInterval(10)
        while Self.isAlive(pid) && Date() < deadline { usleep(10_000) }
    }

    /// `kill -9` (the name the Redis client's fault tests use).
    public func crash() { kill9() }

    /// SIGSTOP: the server stalls with its connections open (the kernel still accepts new ones).
    /// Pair with `resume()`; `stop()` and `crash()` also work on a paused server.
    public func pause() { signal(SIGSTOP) }

    /// SIGCONT after `pause()`.
    public func resume() { signal(SIGCONT) }

    public func stop() {
        guard owned else { return }
        // A stopped (SIGSTOP) server must be continued to act on SIGTERM.
        signal(SIGCONT)
        if let p = process {
            process = nil
            if p.isRunning {
                p.terminate()
                p.waitUntilExit()
            }
        }
        kill9()
    }

    /// Stops and starts again on the same port (for reconnect tests).
    public func restart() throws {
        stop()
        try start()
    }

    /// Runs a command through redis-cli and returns its output (handy for assertions).
    @discardableResult
    public func cli(_ args: String...) -> String { cliArguments(args) }

    /// `cli` with an argument array.
    @discardableResult
    public func cliArguments(_ args: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        p.arguments = ["-h", host, "-p", "\(port)"] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        try? p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func redisServerPath() -> String {
        for candidate in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "redis-server"
    }
}

/// A port that was free a moment ago (bind to port 0 and read it back).
public func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A blocking PING over a plain socket; true when the server answers +PONG.
public func redisPing(host: String, port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr(host)
    addr.sin_port = UInt16(port).bigEndian
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { return false }
    let ping = "PING\r\n"
    _ = ping.withCString { send(fd, $0, strlen($0), 0) }
    var buffer = [UInt8](repeating: 0, count: 16)
    let n = recv(fd, &buffer, buffer.count, 0)
    return n > 0 && buffer.starts(with: Array("+PONG".utf8))
}
