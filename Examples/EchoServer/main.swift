// `EchoServer <port>`: a WebSocket echo server on ws://127.0.0.1:<port>/ for the Autobahn|TestSuite
// (see README, "WebSocket conformance"). Port 0 picks a free port; the first line printed names it.
import EventLoop
import Glibc

/// Unbuffered, so the line naming the port reaches a pipe at once (`stdout` is not concurrency-safe).
func say(_ fd: Int32, _ text: String) {
    var text = text + "\n"
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 2, let port = Int(arguments[1]), (0...65535).contains(port) else {
    say(2, "usage: EchoServer <port>   (WebSocket echo on ws://127.0.0.1:<port>/, 16 MiB messages)")
    exit(64)
}
do {
    let loop = try EventLoop()
    let server = try EchoServer(loop: loop, address: SocketAddress(host: "127.0.0.1", port: port))
    say(1, "EchoServer listening on ws://\(server.address)/")
    loop.run()
    withExtendedLifetime(server) {}
} catch {
    say(2, "EchoServer: \(error)")
    exit(1)
}
