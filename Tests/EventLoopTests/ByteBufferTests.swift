import EventLoop
import XCTest

final class ByteBufferTests: XCTestCase {
    /// The array initializer copies inside the array's closure (no pointer escapes it).
    func testArrayInitializerCopiesTheBytes() {
        var source: [UInt8] = Array(0..<200)
        let buffer = ByteBuffer(source)
        source = Array(repeating: 0xff, count: 200)
        XCTAssertEqual(Array(buffer.bytes), Array(0..<200))
        XCTAssertEqual(ByteBuffer([]).count, 0)
    }
}
