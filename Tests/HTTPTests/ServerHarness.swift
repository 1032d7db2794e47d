import EventLoop
import HTTP
import TestSupport
import XCTest

/// A raw TCP peer that records what it receives, for sending bytes no well-behaved client would.
final class RawPeer: TCPConnectionDelegate {
    private(set) var connection: TCPConnection?
    var received: [UInt8] = []
    var closed = false
    var text: String { String(decoding: received, as: UTF8.self) }

    static func connect(_ loop: EventLoop, to address: SocketAddress) -> RawPeer? {
        let peer = RawPeer()
        var failed = false
        TCPConnection.connect(loop: loop, to: address) { result in
            switch result {
            case .success(let connection):
                connection.delegate = peer
                connection.startReading()
                peer.connection = connection
            case .failure:
                failed = true
            }
        }
        guard runLoop(loop, until: { peer.connection != nil || failed }), !failed else { return nil }
        return peer
    }

    func send(_ text: String) { connection?.write(Array(text.utf8)) }

    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
        received.append(contentsOf: bytes)
    }

    func connectionDidClose(_ connection: TCPConnection, error: UVError?) { closed = true }
}

/// Connects an HTTPClient, stepping the loop until it is ready.
func connectClient(_ loop: EventLoop, to address: SocketAddress) -> HTTPClient? {
    var client: HTTPClient?
    var done = false
    HTTPClient.connect(loop: loop, address: address) { result in
        client = try? result.get()
        done = true
    }
    runLoop(loop) { done }
    return client
}

/// Sends one request and steps the loop until its answer arrives.
func roundTrip(_ loop: EventLoop, _ client: HTTPClient, _ method: String, _ path: String,
               headers: HTTPHeaders = [], body: [UInt8] = []) -> Result<HTTPClientResponse, HTTPClientError>? {
    var result: Result<HTTPClientResponse, HTTPClientError>?
    client.send(method: method, path: path, headers: headers, body: body) { result = $0 }
    runLoop(loop) { result != nil }
    return result
}

func localhost() -> SocketAddress {
    // Port 0: the kernel picks a free port, read back through `server.address`.
    try! SocketAddress(host: "127.0.0.1", port: 0)
}

/// The body of a response in `raw` (text after the first blank line).
func bodyOf(_ raw: String) -> String {
    guard let range = raw.range(of: "\r\n\r\n") else { return "" }
    return String(raw[range.upperBound...])
}
