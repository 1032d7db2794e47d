import XCTest
final class WebSocketPlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
