/// Holds a frame or message that arrived over several reads. It exists only while such a frame or
/// message is in progress, so an idle connection owns no buffer.
final class PartialBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(byteCount: max(capacity, 1), alignment: 16)
    }

    deinit { base.deallocate() }

    /// Makes room for `needed` bytes, keeping the first `keeping`. Grows at least twofold (up to
    /// `limit`) so a message of many small fragments is not copied once per fragment.
    func reserve(_ needed: Int, keeping: Int, limit: Int) {
        guard needed > capacity else { return }
        let doubled = capacity <= limit / 2 ? capacity * 2 : limit
        let newCapacity = max(needed, min(doubled, limit))
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if keeping > 0 { fresh.copyMemory(from: base, byteCount: keeping) }
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }
}
