import EventLoop
import Glibc
import XCTest

final class HandleErrorTests: XCTestCase {
    /// libuv's refusal to watch a signal is an error the caller sees, not a watcher that never fires.
    func testSignalWatcherForAnInvalidSignalThrows() throws {
        let loop = try EventLoop()
        XCTAssertThrowsError(try SignalWatcher(loop: loop, signal: 0) { _ in })
        let valid = try SignalWatcher(loop: loop, signal: SIGUSR2) { _ in }
        valid.close()
        loop.runOnce()
    }
}
