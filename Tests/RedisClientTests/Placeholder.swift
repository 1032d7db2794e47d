import XCTest
final class RedisClientPlaceholderTests: XCTestCase { func testBuilds() { XCTAssertTrue(true) } }
