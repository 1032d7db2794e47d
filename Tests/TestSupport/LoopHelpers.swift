import EventLoop
import Foundation

/// Steps `loop` until `condition` holds or `timeoutMs` passes; returns whether it held.
@discardableResult
public func runLoop(_ loop: EventLoop, timeoutMs: Int = 5000, until condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
    while !condition() {
        if Date() > deadline { return false }
        loop.runOnce(block: false)
        usleep(200)
    }
    return true
}
