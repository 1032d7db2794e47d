import XCTest
final class APIPlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
