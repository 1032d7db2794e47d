/// What every server connection of one loop shares: its limits, the scratch buffer that unmasks
/// frames, and the reasons of connections being closed. One object per loop (the hub keeps it next
/// to its server), so an idle connection holds one reference instead of its own copies.
///
/// The scratch buffer: a masked frame that arrived whole in one read is unmasked here and handed to
/// the delegate, so a connection needs no buffer of its own for the common case; the bytes are valid
/// only until the next frame is parsed on this loop.
///
/// Limits are read when they apply (`maxMessageSize` when a connection is created, the others at
/// each check), so set them before the first connection.
public final class WebSocketServerSettings {
    /// The largest message accepted, summed over its fragments (at most `UInt32.max`).
    public var maxMessageSize: Int
    /// Bytes the kernel has not taken above which a connection is dropped with 1013 "slow consumer".
    public var maxQueuedBytes: Int
    /// How long a closing connection may take before it is dropped.
    public var closeTimeoutMs: UInt32
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0
    /// Reasons of connections that are closing, until `didClose` reports them: an open connection
    /// keeps no string, and a closing one stays here only until its TCP connection is gone.
    var closeReasons: [ObjectIdentifier: String] = [:]

    /// The defaults are the hub's wire contract: 64 KiB messages, about 16 large events queued (far
    /// more than a reading client lags), 5 s for a slow mobile peer to answer a close frame.
    public init(maxMessageSize: Int = 64 * 1024, maxQueuedBytes: Int = 1 << 20, closeTimeoutMs: UInt32 = 5000) {
        self.maxMessageSize = maxMessageSize
        self.maxQueuedBytes = maxQueuedBytes
        self.closeTimeoutMs = closeTimeoutMs
    }

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

    /// Bytes of scratch buffer currently held (for tests and metrics).
    public var capacityBytes: Int { capacity }

    /// Connections closing with a reason not yet reported (for tests).
    public var pendingCloseReasons: Int { closeReasons.count }
}

@available(*, unavailable)
extension WebSocketServerSettings: Sendable {}
