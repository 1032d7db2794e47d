import EventLoop
import Glibc
@testable import Hub
import Logging
import RedisClient
import TestSupport
import WebSocket
import XCTest

/// An idle connection costs the hub its objects' heap blocks (docs/SCALING.md "Per connection"), so
/// the three per-client objects are held to the glibc chunks they fit today: a field that pushes one
/// into the next chunk should be a deliberate choice, with the docs updated. Sizes, not timings.
/// A hub worker runs in this process (stepped by the test) with real sockets, Redis and clients.
final class IdleSessionSizeTests: HubTestCase {
    /// A ClientSession's allocation: glibc's 144-byte chunk.
    static let maxSessionBytes = 136
    /// A WebSocketConnection's allocation: glibc's 128-byte chunk.
    static let maxConnectionBytes = 120
    /// A TCPConnection's allocation: glibc's 112-byte chunk (its socket is in the loop's epoll set, so
    /// there is no libuv handle beside it).
    static let maxTCPBytes = 104

    func testPerClientObjectsFitTheirChunks() {
        XCTAssertEqual(swiftInstanceSize(InstanceSizeProbe.self), 32, "the metadata is read where it is")
        XCTAssertLessThanOrEqual(swiftInstanceSize(ClientSession.self), Self.maxSessionBytes)
        XCTAssertLessThanOrEqual(swiftInstanceSize(WebSocketConnection.self), Self.maxConnectionBytes)
        XCTAssertLessThanOrEqual(swiftInstanceSize(TCPConnection.self), Self.maxTCPBytes)
        XCTAssertEqual(glibcChunkSize(request: Self.maxSessionBytes), 144)
        XCTAssertEqual(glibcChunkSize(request: Self.maxConnectionBytes), 128)
        XCTAssertEqual(glibcChunkSize(request: Self.maxTCPBytes), 112)
    }

    /// Sessions of real clients: each allocation holds at least the instance (a sanity check of the
    /// metadata read), and a close removes exactly its session from the worker's array.
    func testSessionsAreSwapRemoved() throws {
        let worker = try startInProcessWorker()
        defer { stopInProcessWorker(worker) }
        let port = try XCTUnwrap(worker.listeningAddress?.port)
        let newcomers = (0..<3).map { TestClient.connect(loop: loop, port: port, token: token(.teacher, "t\($0)")) }
        clients += newcomers
        XCTAssertTrue(step(worker) { newcomers.allSatisfy(\.isConnected) && worker.sessions.count == 3 })

        for session in worker.sessions {
            let sessionBytes = mallocUsableSize(Unmanaged.passUnretained(session).toOpaque())
            let connectionBytes = mallocUsableSize(Unmanaged.passUnretained(session.connection).toOpaque())
            print("ClientSession heap block: \(sessionBytes) bytes; WebSocketConnection: \(connectionBytes) bytes")
            XCTAssertGreaterThanOrEqual(sessionBytes, swiftInstanceSize(ClientSession.self))
            XCTAssertGreaterThanOrEqual(connectionBytes, swiftInstanceSize(WebSocketConnection.self))
        }

        // First the middle one closes, then the first drops its TCP connection without a closing handshake.
        let middle = worker.sessions[1]
        let survivors = [worker.sessions[0], worker.sessions[2]]
        newcomers[1].client?.close(code: WebSocketCloseCode.normal, reason: "")
        XCTAssertTrue(step(worker) { worker.sessions.count == 2 })
        XCTAssertFalse(worker.sessions.contains { $0 === middle })
        XCTAssertEqual(Set(worker.sessions.map(ObjectIdentifier.init)), Set(survivors.map(ObjectIdentifier.init)))
        for (index, session) in worker.sessions.enumerated() { XCTAssertEqual(Int(session.sessionIndex), index) }

        newcomers[0].client?.disconnect()
        XCTAssertTrue(step(worker) { worker.sessions.count == 1 })
        XCTAssertTrue(worker.sessions[0] === survivors[1])
        XCTAssertEqual(worker.sessions[0].sessionIndex, 0)
        XCTAssertEqual(worker.metrics.connectionsOpen.load(ordering: .relaxed), 1)
        XCTAssertTrue(newcomers[2].closeCode == nil, "the other client is still connected")
    }
}

/// glibc's, not exported by the Glibc module; measures the heap block behind an object.
@_silgen_name("malloc_usable_size")
private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer) -> Int
