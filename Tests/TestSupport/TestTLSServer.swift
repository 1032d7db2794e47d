import Foundation
import Glibc

/// A test CA and a server certificate signed by it, made with the `openssl` command line in a
/// temporary folder: what a school's private CA or a real provider's chain looks like to the client.
public final class TestCertificates: @unchecked Sendable {
    public let directory: String
    public var caFile: String { directory + "/ca.pem" }
    public var certFile: String { directory + "/server.pem" }
    public var keyFile: String { directory + "/server.key" }

    /// A CA, and a server certificate for `names` (DNS names; IPv4/IPv6 literals become IP SANs).
    public init(names: [String] = ["localhost", "127.0.0.1"]) throws {
        directory = NSTemporaryDirectory() + "attendance-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let sans = names.map { $0.contains(":") || $0.allSatisfy({ $0.isNumber || $0 == "." }) ? "IP:\($0)" : "DNS:\($0)" }
        try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                 "-subj", "/CN=Attendance Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                 "-subj", "/CN=\(names.first ?? "localhost")"])
        try "subjectAltName=\(sans.joined(separator: ","))\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: directory + "/ext.cnf", atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"])
    }

    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "TestCertificates", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.first ?? "") failed"])
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}

/// A TLS server in Python (`ssl` + `socketserver`, a real TLS stack other than the client's) on a
/// free loopback port. Modes: `ok` answers every request 200 with `body`; `reset` accepts and resets
/// the connection (SO_LINGER 0); `silent` accepts and never says anything. Every request answered
/// is appended to `receivedRequests`.
public final class TestTLSServer: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let log: String

    public init(certificates: TestCertificates, mode: String = "ok", body: String = #"{"ok":true}"#) throws {
        port = freeTCPPort()
        log = certificates.directory + "/requests-\(port).log"
        let script = #"""
import base64, socket, ssl, sys, time
mode, port, cert, key, body, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].encode(), sys.argv[6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(16)
print("ready", flush=True)
held = []
while True:
    conn, _ = listener.accept()
    if mode == "reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()
        continue
    if mode == "silent":
        held.append(conn)
        continue
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(4096)
            if not chunk: break
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0].lower()
        length = next((int(line[15:]) for line in head.split(b"\r\n") if line.startswith(b"content-length:")), 0)
        while len(data) < len(head) + 4 + length:
            chunk = tls.recv(4096)
            if not chunk: break
            data += chunk
        with open(log, "ab") as f:
            f.write(base64.b64encode(data) + b"\n")
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        tls.close()
    except (ssl.SSLError, OSError):
        conn.close()
"""#
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, mode, String(port), certificates.certFile, certificates.keyFile, body, log]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = out.fileHandleForReading.availableData
        guard String(decoding: line, as: UTF8.self).hasPrefix("ready") else {
            process.terminate()
            throw NSError(domain: "TestTLSServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "python TLS server did not start"])
        }
    }

    /// The raw requests (head and body) answered so far, oldest first.
    public var receivedRequests: [[UInt8]] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { Data(base64Encoded: String($0)).map { Array($0) } }
    }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
