import XCTest
final class HTTPPlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
