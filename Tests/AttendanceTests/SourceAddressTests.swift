@testable import Attendance
import XCTest

final class SourceAddressTests: XCTestCase {
    func testIPv4IsKeyedByAddressAndIPv6ByItsSlash64() {
        XCTAssertEqual(SourceAddress.failureKey("203.0.113.7"), "203.0.113.7")
        XCTAssertEqual(SourceAddress.failureKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64")
        XCTAssertEqual(SourceAddress.failureKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64")
        XCTAssertEqual(SourceAddress.failureKey("fe80::1%eth0"), "fe80:0:0:0::/64")
        XCTAssertEqual(SourceAddress.failureKey("::ffff:198.51.100.4"), "198.51.100.4")
        XCTAssertEqual(SourceAddress.failureKey(""), "unknown")
        XCTAssertEqual(Keys.failures(address: "2001:db8:1:2::99"), "att:fail:2001:db8:1:2::/64")
    }
}
