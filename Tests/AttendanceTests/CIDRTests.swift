@testable import Attendance
import XCTest

final class CIDRTests: XCTestCase {
    func testIPv4NetworksContainTheirAddressesOnly() throws {
        let network = try XCTUnwrap(CIDR("10.1.0.0/16"))
        XCTAssertEqual(network.description, "10.1.0.0/16")
        XCTAssertTrue(network.contains("10.1.0.0"))
        XCTAssertTrue(network.contains("10.1.255.254"))
        XCTAssertFalse(network.contains("10.2.0.1"))
        XCTAssertFalse(network.contains("11.1.0.1"))
        // A dual-stack socket reports IPv4 peers as mapped IPv6 addresses.
        XCTAssertTrue(network.contains("::ffff:10.1.2.3"))
        XCTAssertFalse(network.contains("2001:db8::1"))
        XCTAssertFalse(network.contains("not an address"))
        XCTAssertFalse(network.contains(""))
        // Odd prefixes mask inside a byte; host bits are cleared.
        let odd = try XCTUnwrap(CIDR("192.168.5.77/22"))
        XCTAssertEqual(odd.description, "192.168.4.0/22")
        XCTAssertTrue(odd.contains("192.168.7.255"))
        XCTAssertFalse(odd.contains("192.168.8.0"))
        XCTAssertEqual(CIDR("127.0.0.1")?.description, "127.0.0.1/32")
        XCTAssertTrue(try XCTUnwrap(CIDR("0.0.0.0/0")).contains("203.0.113.9"))
    }

    func testIPv6Networks() throws {
        let network = try XCTUnwrap(CIDR("2001:db8::/48"))
        XCTAssertEqual(network.description, "2001:db8::/48")
        XCTAssertTrue(network.contains("2001:db8:0:ffff::1"))
        XCTAssertTrue(network.contains("2001:0DB8:0000:0001::"))
        XCTAssertFalse(network.contains("2001:db8:1::1"))
        XCTAssertFalse(network.contains("10.1.2.3"))
        XCTAssertTrue(try XCTUnwrap(CIDR("fe80::/10")).contains("fe80::1%eth0"))
        XCTAssertEqual(CIDR("::1")?.description, "::1/128")
        XCTAssertEqual(CIDR("2001:db8::1/127")?.description, "2001:db8::/127")
    }

    func testMalformedNetworksAreRefused() {
        for text in ["", "/8", "10.1.0.0/", "10.1.0.0/33", "10.1.0.0/-1", "10.1.0.0/+8", "10.1.0.0/8/8", "10.1/16",
                     "2001:db8::/129", "example.com/24", "10.1.0.0/ 16", "10.1.0.0 /16", "1.2.3.4:80"] {
            XCTAssertNil(CIDR(text), text)
        }
    }

    func testListsNameTheFirstBadEntry() {
        XCTAssertEqual(try CIDR.parseList(" 10.0.0.0/8, 2001:db8::/32 ,,").get().map(\.description), ["10.0.0.0/8", "2001:db8::/32"])
        XCTAssertEqual(try CIDR.parseList("").get(), [])
        XCTAssertEqual(CIDR.parseList("10.0.0.0/8,10.0.0.0/40"), .failure(CIDR.ListError(entry: "10.0.0.0/40")))
    }
}

final class ForwardedForTests: XCTestCase {
    private let proxies = [CIDR("127.0.0.1/32")!, CIDR("10.0.0.0/8")!]

    func testTheHeaderIsIgnoredUnlessThePeerIsTrusted() {
        XCTAssertEqual(ForwardedFor.clientAddress(peer: "127.0.0.1", headerValues: ["203.0.113.9"], trusted: []), "127.0.0.1")
        XCTAssertEqual(ForwardedFor.clientAddress(peer: "198.51.100.1", headerValues: ["203.0.113.9"], trusted: proxies), "198.51.100.1")
        XCTAssertEqual(ForwardedFor.clientAddress(peer: "127.0.0.1", headerValues: [], trusted: proxies), "127.0.0.1")
    }

    func testTheRightMostUntrustedAddressIsTheClient() {
        // The client wrote 6.6.6.6 itself; the proxies appended what they saw.
        XCTAssertEqual(ForwardedFor.clientAddress(peer: "127.0.0.1", headerValues: ["6.6.6.6, 203.0.113.9, 10.1.1.1"],
                                                  trusted: proxies), "203.0.113.9")
        // Several headers are one list, in order.
        XCTAssertEqual(ForwardedFor.clientAddress(peer: "127.0.0.1", headerValues: ["6.6.6.6", "2001:db8::7,10.0.0.2"],
                                                  trusted: proxies), "2001:db8::7")
        // Only proxies: the peer.
        XCTAssertEqual(ForwardedFor.clientAddress(peer: "127.0.0.1", headerValues: ["10.0.0.3"], trusted: proxies), "127.0.0.1")
    }

    func testMalformedChainsFallBackToThePeer() {
        for value in ["garbage", "203.0.113.9, ", "203.0.113.9:4711", "[2001:db8::1]", "unknown", ""] {
            XCTAssertEqual(ForwardedFor.clientAddress(peer: "127.0.0.1", headerValues: [value], trusted: proxies), "127.0.0.1", value)
        }
        // Garbage left of the client's address is never read.
        XCTAssertEqual(ForwardedFor.clientAddress(peer: "127.0.0.1", headerValues: ["garbage, 203.0.113.9"], trusted: proxies), "203.0.113.9")
    }
}
