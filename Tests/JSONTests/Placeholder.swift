import XCTest
final class JSONPlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
