import EventLoop
import HTTP
import TestSupport
import XCTest

/// Takes over an upgraded socket and echoes everything, starting with the leftover bytes.
private final class EchoOwner: TCPConnectionDelegate {
    var closed = false
    func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) { connection.write(bytes) }
    func connectionDidClose(_ connection: TCPConnection, error: UVError?) { closed = true }
}

final class HTTPServerTests: XCTestCase {
    private var loop: EventLoop!

    override func setUpWithError() throws {
        loop = try EventLoop()
    }

    override func tearDown() {
        loop = nil
    }

    private func echoServer(_ configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
                            upgradeHandler: HTTPServer.UpgradeHandler? = nil) throws -> HTTPServer {
        try HTTPServer(loop: loop, address: localhost(), configuration: configuration, upgradeHandler: upgradeHandler) { request, responder in
            responder.send(.text(200, "\(request.method) \(request.path) \(request.body.count) from \(responder.peerAddress?.host ?? "?")"))
        }
    }

    private func shutDown(_ server: HTTPServer, _ clients: [HTTPClient] = []) {
        clients.forEach { $0.close() }
        server.close()
        XCTAssertTrue(runLoop(loop) { server.openConnections == 0 })
    }

    func testKeepAliveReusesOneConnection() throws {
        let server = try echoServer()
        let client = try XCTUnwrap(connectClient(loop, to: server.address))
        for path in ["/one", "/two", "/three"] {
            let response = try XCTUnwrap(roundTrip(loop, client, "GET", path)).get()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.bodyText, "GET \(path) 0 from 127.0.0.1")
            XCTAssertNil(response.headers["connection"])
        }
        let post = try XCTUnwrap(roundTrip(loop, client, "POST", "/p", body: Array(repeating: 7, count: 100_000))).get()
        XCTAssertEqual(post.bodyText, "POST /p 100000 from 127.0.0.1")
        XCTAssertTrue(client.isOpen)
        XCTAssertEqual(server.acceptedConnections, 1)
        XCTAssertEqual(server.openConnections, 1)
        XCTAssertEqual(server.requestsServed, 4)
        shutDown(server, [client])
    }

    func testReusePortLetsTwoServersShareAnAddress() throws {
        var configuration = HTTPServerConfiguration()
        configuration.reusePort = true
        let first = try echoServer(configuration)
        let second = try HTTPServer(loop: loop, address: first.address, configuration: configuration) { _, responder in
            responder.send(.text(200, "second"))
        }
        XCTAssertEqual(second.address.port, first.address.port)
        let client = try XCTUnwrap(connectClient(loop, to: first.address))
        XCTAssertEqual(try XCTUnwrap(roundTrip(loop, client, "GET", "/")).get().status, 200)
        client.close()
        shutDown(first)
        shutDown(second)
    }

    func testPipelinedResponsesKeepRequestOrderWhenTheFirstIsAnsweredLater() throws {
        var held: HTTPResponder?
        var seen: [String] = []
        let server = try HTTPServer(loop: loop, address: localhost()) { request, responder in
            seen.append(request.path)
            if request.path == "/slow" {
                held = responder
            } else {
                responder.send(.text(200, request.path))
            }
        }
        let client = try XCTUnwrap(connectClient(loop, to: server.address))
        var completed: [String] = []
        for path in ["/slow", "/fast", "/also-fast"] {
            client.send(method: "GET", path: path) { result in
                completed.append((try? result.get().bodyText) ?? "failed")
            }
        }
        XCTAssertTrue(runLoop(loop) { held != nil })
        // Give the loop turns in which the later requests have certainly arrived; they must wait.
        let raw = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        raw.send("GET /other HTTP/1.1\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { raw.text.hasSuffix("/other") })
        XCTAssertEqual(seen, ["/slow", "/other"], "the next pipelined request waits for the answer")
        XCTAssertEqual(completed, [])

        held?.send(.text(200, "/slow"))
        XCTAssertTrue(runLoop(loop) { completed.count == 3 })
        XCTAssertEqual(completed, ["/slow", "/fast", "/also-fast"])
        XCTAssertEqual(seen, ["/slow", "/other", "/fast", "/also-fast"])
        held?.send(.text(500, "again"))
        XCTAssertFalse(held?.isWaiting ?? true, "a second send is ignored")
        raw.connection?.close()
        shutDown(server, [client])
    }

    func testPipelinedRequestsInOneSegmentAreAnsweredInOrder() throws {
        let server = try echoServer()
        let raw = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        raw.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { raw.closed })
        let bodies = raw.text.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.prefix(while: { $0 != "H" }) }
        XCTAssertEqual(bodies, ["GET /a 0 from 127.0.0.1", "POST /b 3 from 127.0.0.1", "GET /c 0 from 127.0.0.1"])
        XCTAssertTrue(raw.text.contains("Connection: close"))
        shutDown(server)
    }

    func testLargePipelinedBodyPausesReadingAndArrivesIntact() throws {
        var held: HTTPResponder?
        let server = try HTTPServer(loop: loop, address: localhost()) { request, responder in
            if request.path == "/hold" {
                held = responder
            } else {
                responder.send(.json(200, Array("\(request.body.count) \(request.body.allSatisfy { $0 == 9 })".utf8)))
            }
        }
        let client = try XCTUnwrap(connectClient(loop, to: server.address))
        var results: [String] = []
        client.send(method: "GET", path: "/hold") { results.append((try? $0.get().bodyText) ?? "failed") }
        client.send(method: "POST", path: "/big", body: Array(repeating: 9, count: 900_000)) {
            results.append((try? $0.get().bodyText) ?? "failed")
        }
        XCTAssertTrue(runLoop(loop) { held != nil })
        held?.send(.text(200, "held"))
        XCTAssertTrue(runLoop(loop) { results.count == 2 })
        XCTAssertEqual(results, ["held", "900000 true"])
        shutDown(server, [client])
    }

    func testRouterAnswers404And405WithErrorJSON() throws {
        let router = Router()
        router.add("GET", "/v1/classes/{id}") { _, parameters, responder in
            responder.send(.json(200, Array("{\"id\":\"\(parameters["id"] ?? "")\"}".utf8)))
        }
        router.add("POST", "/v1/classes/{id}/attendance:bulk") { request, parameters, responder in
            responder.send(.text(200, "bulk \(parameters["id"] ?? "") \(request.body.count)"))
        }
        router.add("GET", "/v1/classes/{id}/attendance") { request, _, responder in
            guard request.query("format") == "csv" else { return responder.send(.json(200, Array("{}".utf8))) }
            responder.send(HTTPResponse(status: 200, headers: ["Content-Type": "text/csv"],
                                        body: Array("student_id,name,status,at_ms,method,by\n".utf8)))
        }
        let server = try HTTPServer(loop: loop, address: localhost(), handler: router.handle)
        let client = try XCTUnwrap(connectClient(loop, to: server.address))

        let found = try XCTUnwrap(roundTrip(loop, client, "GET", "/v1/classes/c%201")).get()
        XCTAssertEqual(found.bodyText, #"{"id":"c 1"}"#)
        let bulk = try XCTUnwrap(roundTrip(loop, client, "POST", "/v1/classes/c1/attendance:bulk", body: [1, 2])).get()
        XCTAssertEqual(bulk.bodyText, "bulk c1 2")
        let csv = try XCTUnwrap(roundTrip(loop, client, "GET", "/v1/classes/c1/attendance?format=csv")).get()
        XCTAssertEqual(csv.headers["content-type"], "text/csv")
        XCTAssertEqual(csv.bodyText, "student_id,name,status,at_ms,method,by\n")
        let head = try XCTUnwrap(roundTrip(loop, client, "HEAD", "/v1/classes/c1")).get()
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-length"], "11")
        XCTAssertEqual(head.body, [])

        let missing = try XCTUnwrap(roundTrip(loop, client, "GET", "/v2/nothing")).get()
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.headers["content-type"], "application/json")
        XCTAssertEqual(missing.bodyText, #"{"error":{"code":"not_found","message":"no such resource"}}"#)
        let wrongMethod = try XCTUnwrap(roundTrip(loop, client, "DELETE", "/v1/classes/c1")).get()
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.headers["allow"], "GET, HEAD")
        XCTAssertEqual(wrongMethod.bodyText, #"{"error":{"code":"bad_request","message":"method not allowed; allowed: GET, HEAD"}}"#)
        XCTAssertTrue(client.isOpen, "routing errors keep the connection")
        shutDown(server, [client])
    }

    func testBadRequestGetsErrorJSONAndCloseWhileOthersAreServed() throws {
        let server = try echoServer()
        let good = try XCTUnwrap(connectClient(loop, to: server.address))
        let bad = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        bad.send("GET / HTTP/1.1\r\nBad Header\r\n\r\nGET /never HTTP/1.1\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { bad.closed })
        XCTAssertTrue(bad.text.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        XCTAssertTrue(bad.text.contains("\r\nConnection: close\r\n"))
        XCTAssertTrue(bad.text.contains("\r\nContent-Type: application/json\r\n"))
        XCTAssertEqual(bodyOf(bad.text), #"{"error":{"code":"bad_request","message":"malformed header field name"}}"#)
        XCTAssertEqual(server.rejectedRequests, 1)

        let response = try XCTUnwrap(roundTrip(loop, good, "GET", "/still")).get()
        XCTAssertEqual(response.bodyText, "GET /still 0 from 127.0.0.1")
        XCTAssertEqual(server.requestsServed, 1)
        shutDown(server, [good])
    }

    func testLimitsAreEnforcedOnTheWire() throws {
        let limits = HTTPLimits(maxHeadBytes: 1024, maxHeaderCount: 10, maxBodyBytes: 1000, maxURILength: 100)
        let server = try echoServer(HTTPServerConfiguration(limits: limits))
        let cases: [(String, String)] = [
            // Only the head is sent: the 413 comes from Content-Length, before any body byte.
            ("POST /up HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", "413"),
            ("POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n", "413"),
            ("GET /" + String(repeating: "u", count: 101), "414"),
            ("GET / HTTP/1.1\r\nX: " + String(repeating: "h", count: 1100), "431"),
            ("POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", "400"),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "501"),
            ("GET / HTTP/3.0\r\n\r\n", "505"),
        ]
        for (request, status) in cases {
            let peer = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
            peer.send(request)
            XCTAssertTrue(runLoop(loop) { peer.closed }, request)
            XCTAssertTrue(peer.text.hasPrefix("HTTP/1.1 \(status) "), "\(request.prefix(60)) → \(peer.text.prefix(40))")
            XCTAssertTrue(bodyOf(peer.text).hasPrefix(#"{"error":{"code":""#))
        }
        let chunked = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        chunked.send("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { chunked.closed })
        XCTAssertEqual(bodyOf(chunked.text), "POST /c 7 from 127.0.0.1")
        shutDown(server)
    }

    func testExpectContinueGetsAnInterimResponseOnlyWhenTheBodyIsAcceptable() throws {
        let server = try echoServer(HTTPServerConfiguration(limits: HTTPLimits(maxBodyBytes: 100)))
        let peer = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        peer.send("POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { peer.text == "HTTP/1.1 100 Continue\r\n\r\n" })
        peer.send("hello")
        XCTAssertTrue(runLoop(loop) { peer.text.hasSuffix("POST /e 5 from 127.0.0.1") })

        let tooBig = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        tooBig.send("POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { tooBig.closed })
        XCTAssertTrue(tooBig.text.hasPrefix("HTTP/1.1 413 Content Too Large\r\n"), tooBig.text)
        peer.connection?.close()
        shutDown(server)
    }

    func testConnectionCloseAndHTTP10() throws {
        let server = try echoServer()
        let client = try XCTUnwrap(connectClient(loop, to: server.address))
        let closing = try XCTUnwrap(roundTrip(loop, client, "GET", "/bye", headers: ["Connection": "close"])).get()
        XCTAssertEqual(closing.headers["connection"], "close")
        XCTAssertTrue(runLoop(loop) { !client.isOpen })

        let old = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        old.send("GET /old HTTP/1.0\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { old.closed })
        XCTAssertTrue(old.text.contains("Connection: close"))

        let oldKeepAlive = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        oldKeepAlive.send("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { oldKeepAlive.text.hasSuffix("from 127.0.0.1") })
        XCTAssertTrue(oldKeepAlive.text.contains("\r\nConnection: keep-alive\r\n"))
        XCTAssertFalse(oldKeepAlive.closed)
        oldKeepAlive.connection?.close()
        shutDown(server)
    }

    func testUpgradeHandsTheSocketToItsNewOwner() throws {
        var owners: [EchoOwner] = []
        var handlerCalls = 0
        let configuration = HTTPServerConfiguration(headerTimeoutMs: 100, idleTimeoutMs: 100, sweepIntervalMs: 10)
        let server = try HTTPServer(loop: loop, address: localhost(), configuration: configuration,
                                    upgradeHandler: { request, connection, leftover in
            guard request.isUpgrade(to: "websocket") else { return false }
            let owner = EchoOwner()
            owners.append(owner)
            connection.delegate = owner
            connection.write(Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".utf8))
            connection.write(leftover)
            return true
        }) { _, responder in
            handlerCalls += 1
            responder.send(.error(426, code: "bad_request", message: "upgrade required"))
        }
        let peer = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        peer.send("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly")
        XCTAssertTrue(runLoop(loop) { peer.text.hasSuffix("\r\n\r\nearly") })
        XCTAssertTrue(peer.text.hasPrefix("HTTP/1.1 101 "))
        XCTAssertEqual(server.upgradedConnections, 1)
        XCTAssertEqual(server.openConnections, 0)
        XCTAssertEqual(handlerCalls, 0)

        // An Upgrade the hook declines goes to the ordinary handler.
        let declined = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        declined.send("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { declined.text.contains("upgrade required") })
        XCTAssertEqual(handlerCalls, 1)

        // The sweep (which closes an idle HTTP connection here) and close() leave the upgraded socket alone.
        XCTAssertTrue(runLoop(loop) { declined.closed })
        server.close()
        XCTAssertTrue(runLoop(loop) { server.openConnections == 0 })
        peer.received = []
        peer.send("still mine")
        XCTAssertTrue(runLoop(loop) { peer.text == "still mine" })
        XCTAssertFalse(peer.closed)
        peer.connection?.close()
        XCTAssertTrue(runLoop(loop) { owners.first?.closed == true })
    }

    func testSlowRequestsAreCutOffBySweepWhileOthersAreServed() throws {
        let configuration = HTTPServerConfiguration(headerTimeoutMs: 150, idleTimeoutMs: 60_000, sweepIntervalMs: 10)
        let server = try echoServer(configuration)
        let slowHead = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        slowHead.send("GET / HTTP/1.1\r\nHost: h\r\nX-Drip: ")
        let slowBody = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        slowBody.send("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        let silent = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        let client = try XCTUnwrap(connectClient(loop, to: server.address))

        var served = 0
        XCTAssertTrue(runLoop(loop) {
            // Keep a well-behaved client busy the whole time.
            if served < 1000, client.pendingCount == 0 {
                client.send(method: "GET", path: "/ok") { if (try? $0.get().status) == 200 { served += 1 } }
            }
            return slowHead.closed && slowBody.closed && silent.closed
        })
        for peer in [slowHead, slowBody, silent] {
            XCTAssertTrue(peer.text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), peer.text)
            XCTAssertTrue(peer.text.contains("Connection: close"))
        }
        XCTAssertGreaterThan(served, 0)
        XCTAssertTrue(client.isOpen, "an active keep-alive client is not idle")
        XCTAssertEqual(server.rejectedRequests, 3)
        shutDown(server, [client])
    }

    func testIdleKeepAliveConnectionIsClosedSilently() throws {
        let configuration = HTTPServerConfiguration(headerTimeoutMs: 60_000, idleTimeoutMs: 100, sweepIntervalMs: 10)
        let server = try echoServer(configuration)
        let peer = try XCTUnwrap(RawPeer.connect(loop, to: server.address))
        peer.send("GET /once HTTP/1.1\r\n\r\n")
        XCTAssertTrue(runLoop(loop) { peer.text.hasSuffix("from 127.0.0.1") })
        let answered = peer.received.count
        XCTAssertTrue(runLoop(loop) { peer.closed })
        XCTAssertEqual(peer.received.count, answered, "no bytes on an idle close")
        XCTAssertEqual(server.rejectedRequests, 0)
        shutDown(server)
    }

    func testCloseStopsAcceptingClosesIdleAndFinishesInFlight() throws {
        var held: HTTPResponder?
        let server = try HTTPServer(loop: loop, address: localhost()) { request, responder in
            if request.path == "/hold" { held = responder } else { responder.send(.text(200, "ok")) }
        }
        let address = server.address
        let idle = try XCTUnwrap(connectClient(loop, to: address))
        XCTAssertEqual(try XCTUnwrap(roundTrip(loop, idle, "GET", "/")).get().status, 200)
        let busy = try XCTUnwrap(connectClient(loop, to: address))
        var busyResult: Result<HTTPClientResponse, HTTPClientError>?
        busy.send(method: "GET", path: "/hold") { busyResult = $0 }
        XCTAssertTrue(runLoop(loop) { held != nil })

        server.close()
        XCTAssertTrue(runLoop(loop) { !idle.isOpen })
        XCTAssertTrue(busy.isOpen)
        XCTAssertEqual(server.openConnections, 1)
        XCTAssertEqual(held?.isWaiting, true)

        held?.send(.text(200, "late"))
        XCTAssertTrue(runLoop(loop) { busyResult != nil && !busy.isOpen })
        let response = try XCTUnwrap(busyResult).get()
        XCTAssertEqual(response.bodyText, "late")
        XCTAssertEqual(response.headers["connection"], "close")
        // The server lingers after its FIN until the peer closes too (see TCPConnection.shutdown).
        XCTAssertTrue(runLoop(loop) { server.openConnections == 0 })

        var refused: HTTPClientError?
        HTTPClient.connect(loop: loop, address: address) { result in
            if case .failure(let error) = result { refused = error }
        }
        XCTAssertTrue(runLoop(loop) { refused != nil })
    }

    func testResponderOutlivingItsClientIsHarmless() throws {
        var held: HTTPResponder?
        let server = try HTTPServer(loop: loop, address: localhost()) { _, responder in held = responder }
        let client = try XCTUnwrap(connectClient(loop, to: server.address))
        var result: Result<HTTPClientResponse, HTTPClientError>?
        client.send(method: "GET", path: "/") { result = $0 }
        XCTAssertTrue(runLoop(loop) { held != nil })
        client.close()
        XCTAssertTrue(runLoop(loop) { server.openConnections == 0 })
        XCTAssertEqual(result.map { if case .failure(.connectionClosed) = $0 { true } else { false } }, true)
        XCTAssertEqual(held?.isWaiting, false)
        XCTAssertEqual(held?.peerAddress?.host, "127.0.0.1")
        held?.send(.text(200, "nobody listens"))
        XCTAssertEqual(server.requestsServed, 0)
        shutDown(server)
    }

    func testClientFailsEveryPendingRequestWhenTheConnectionCloses() throws {
        // A server that hangs up on whatever it reads, after a partial response.
        let listener = try TCPServer(loop: loop, address: localhost()) { connection in
            final class HangUp: TCPConnectionDelegate {
                func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
                    connection.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".utf8))
                    connection.shutdown()
                }
                func connectionDidClose(_ connection: TCPConnection, error: UVError?) {}
            }
            connection.delegate = HangUp()
            connection.startReading()
        }
        let client = try XCTUnwrap(connectClient(loop, to: listener.address))
        var results: [Result<HTTPClientResponse, HTTPClientError>] = []
        for _ in 0..<3 { client.send(method: "GET", path: "/") { results.append($0) } }
        XCTAssertTrue(runLoop(loop) { results.count == 3 })
        for result in results {
            guard case .failure(.connectionClosed) = result else { return XCTFail("\(result)") }
        }
        var late: Result<HTTPClientResponse, HTTPClientError>?
        client.send(method: "GET", path: "/") { late = $0 }
        guard case .failure(.connectionClosed) = late else { return XCTFail("send after close must fail") }
        listener.close()
    }

    func testClientReadsABodyFramedByTheClose() throws {
        let listener = try TCPServer(loop: loop, address: localhost()) { connection in
            final class OldServer: TCPConnectionDelegate {
                func connectionDidRead(_ connection: TCPConnection, _ bytes: UnsafeRawBufferPointer) {
                    connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end".utf8))
                    connection.shutdown()
                }
                func connectionDidClose(_ connection: TCPConnection, error: UVError?) {}
            }
            connection.delegate = OldServer()
            connection.startReading()
        }
        let client = try XCTUnwrap(connectClient(loop, to: listener.address))
        let response = try XCTUnwrap(roundTrip(loop, client, "GET", "/")).get()
        XCTAssertEqual(response.version, .http1_0)
        XCTAssertEqual(response.bodyText, "until the end")
        listener.close()
    }
}
