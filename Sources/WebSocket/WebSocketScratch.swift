/// A scratch buffer shared by every connection of one loop. A masked frame that arrived whole in one
/// read is unmasked here and handed to the delegate, so a connection needs no buffer of its own for the
/// common case; the bytes are valid only until the next frame is parsed on this loop.
/// Create one per loop (the hub owns it next to its server) and pass it to each `WebSocketConnection`.
public final class WebSocketScratch {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0

    public init() {}

    deinit { base?.deallocate() }

    /// Memory for at least `count` bytes; earlier contents are not kept.
    func reserve(_ count: Int) -> UnsafeMutableRawPointer {
        if let base, count <= capacity { return base }
        base?.deallocate()
        // Grow in powers of two from 4 KiB so a few large frames settle the size after a couple of steps.
        var newCapacity = max(capacity, 4096)
        while newCapacity < count { newCapacity = newCapacity > Int.max / 2 ? count : newCapacity * 2 }
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        base = fresh
        capacity = newCapacity
        return fresh
    }

    /// Bytes currently held (for tests and metrics).
    public var capacityBytes: Int { capacity }
}

@available(*, unavailable)
extension WebSocketScratch: Sendable {}
