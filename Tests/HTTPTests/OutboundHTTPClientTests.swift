import EventLoop
import HTTP
import TestSupport
import XCTest

/// The outgoing HTTPS client against a real TLS server (Python's ssl module) with a CA and
/// certificates made by the openssl command line: trust, names, and the faults a network produces.
final class OutboundHTTPClientTests: XCTestCase {
    static let certificates = try! TestCertificates(names: ["localhost", "127.0.0.1"])

    func fetch(_ url: String, caFile: String? = OutboundHTTPClientTests.certificates.caFile,
               configure: (OutboundHTTPClient) -> Void = { _ in }) throws -> Result<HTTPClientResponse, OutboundHTTPError> {
        let loop = try EventLoop()
        let context = try XCTUnwrap(TLSClientContext(caFile: caFile))
        let client = OutboundHTTPClient(loop: loop, tls: context)
        configure(client)
        var result: Result<HTTPClientResponse, OutboundHTTPError>?
        client.send(method: "GET", url: try XCTUnwrap(OutboundURL(url)), headers: ["Accept": "application/json"]) { result = $0 }
        XCTAssertTrue(runLoop(loop, timeoutMs: 30_000) { result != nil })
        // Let the closed handles' callbacks run before the loop goes away.
        runLoop(loop, timeoutMs: 200) { false }
        return try XCTUnwrap(result)
    }

    /// The error of a failed fetch (nil when it succeeded), for comparisons.
    func failure(_ url: String, caFile: String? = OutboundHTTPClientTests.certificates.caFile,
                 configure: (OutboundHTTPClient) -> Void = { _ in }) throws -> OutboundHTTPError? {
        if case .failure(let error) = try fetch(url, caFile: caFile, configure: configure) { return error }
        return nil
    }

    func testTrustedCertificateByNameAndByAddress() throws {
        let server = try TestTLSServer(certificates: Self.certificates, body: #"{"issuer":"x"}"#)
        defer { server.stop() }
        for host in ["localhost", "127.0.0.1"] {
            let response = try fetch("https://\(host):\(server.port)/.well-known/openid-configuration").get()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.bodyText, #"{"issuer":"x"}"#)
        }
    }

    func testCertificateForAnotherNameIsRefused() throws {
        let other = try TestCertificates(names: ["idp.other.example"])
        let server = try TestTLSServer(certificates: other)
        defer { server.stop() }
        guard case .failure(.tlsFailed(let reason)) = try fetch("https://localhost:\(server.port)/", caFile: other.caFile) else {
            return XCTFail("a certificate for another host was accepted")
        }
        XCTAssertTrue(reason.contains("hostname mismatch"), reason)
    }

    func testUntrustedCAIsRefused() throws {
        let server = try TestTLSServer(certificates: Self.certificates)
        defer { server.stop() }
        // The system store does not know the test CA.
        guard case .failure(.tlsFailed(let reason)) = try fetch("https://localhost:\(server.port)/", caFile: nil) else {
            return XCTFail("a certificate from an unknown CA was accepted")
        }
        XCTAssertTrue(reason.contains("certificate verification failed"), reason)
    }

    func testRefusedResetAndSilentServers() throws {
        XCTAssertEqual(try failure("https://127.0.0.1:\(freeTCPPort())/"), .connectFailed(.connectionRefused))

        let reset = try TestTLSServer(certificates: Self.certificates, mode: "reset")
        defer { reset.stop() }
        switch try fetch("https://127.0.0.1:\(reset.port)/") {
        case .failure(.tlsFailed(let reason)): XCTAssertTrue(reason.contains("closed"), reason)
        case .failure(.connectionClosed): break
        // The reset may beat the connect callback, which then sees it setting TCP_NODELAY.
        case .failure(.connectFailed(let error)): XCTAssertEqual(error.name, "ECONNRESET")
        case let other: XCTFail("a reset connection gave \(other)")
        }

        let silent = try TestTLSServer(certificates: Self.certificates, mode: "silent")
        defer { silent.stop() }
        XCTAssertEqual(try failure("https://127.0.0.1:\(silent.port)/") { $0.connectTimeoutMs = 500 }, .timedOut)
    }

    func testResponseOverTheLimitIsRefused() throws {
        let server = try TestTLSServer(certificates: Self.certificates, body: String(repeating: "x", count: 4096))
        defer { server.stop() }
        XCTAssertEqual(try failure("https://localhost:\(server.port)/") { $0.limits.maxBodyBytes = 1024 }, .malformedResponse(.bodyTooLarge))
    }

    func testPlainHTTPOnlyToLoopback() throws {
        XCTAssertEqual(try failure("http://idp.example/token"), .insecureURL)
        XCTAssertEqual(try failure("http://127.0.0.1:\(freeTCPPort())/"), .connectFailed(.connectionRefused))
    }

    func testURLParsing() throws {
        let url = try XCTUnwrap(OutboundURL("https://IdP.Example:8443/realms/s?x=1"))
        XCTAssertEqual(url.host, "idp.example")
        XCTAssertEqual(url.port, 8443)
        XCTAssertEqual(url.target, "/realms/s?x=1")
        XCTAssertEqual(url.hostHeader, "idp.example:8443")
        XCTAssertEqual(OutboundURL("https://idp.example")?.target, "/")
        XCTAssertEqual(OutboundURL("https://idp.example?q")?.target, "/?q")
        XCTAssertEqual(OutboundURL("http://[::1]:9000/t")?.host, "::1")
        XCTAssertTrue(OutboundURL("http://[::1]:9000/t")!.isLoopback)
        XCTAssertTrue(OutboundURL("http://127.0.0.1/t")!.isIPLiteral)
        XCTAssertFalse(OutboundURL("http://127.0.0.1.evil.example/t")!.isLoopback)
        for bad in ["ftp://x/", "https://", "https://user@idp.example/", "https://idp.example/#f", "https://idp.example:0/",
                    "https://idp.example:99999/", "https://idp example/", "https://[::1/", "https://idp.example/\u{7f}"] {
            XCTAssertNil(OutboundURL(bad), bad)
        }
    }
}
