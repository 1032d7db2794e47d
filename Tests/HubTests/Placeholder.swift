import XCTest
final class HubPlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
