import XCTest
final class LoadToolPlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
