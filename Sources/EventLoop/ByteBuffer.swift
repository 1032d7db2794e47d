/// An immutable, reference-counted byte buffer with a stable address. A broadcast event is framed once
/// into one of these and the same buffer is queued on every subscriber's socket.
public final class ByteBuffer {
    public let base: UnsafeMutableRawPointer
    public let count: Int

    public init(copying bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        base = .allocate(byteCount: max(count, 1), alignment: 16)
        if count > 0 { base.copyMemory(from: bytes.baseAddress!, byteCount: count) }
    }

    public convenience init(_ bytes: [UInt8]) {
        // The array's pointer is used only inside its closure: it is not valid after it returns.
        self.init(count: bytes.count) { out in
            bytes.withUnsafeBytes { if $0.count > 0 { out.copyMemory(from: $0) } }
        }
    }

    /// Allocates `count` bytes and lets `fill` write them once.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        self.count = count
        base = .allocate(byteCount: max(count, 1), alignment: 16)
        fill(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    deinit { base.deallocate() }

    /// Valid while this buffer is alive: callers hold the `ByteBuffer` for as long as they use it.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

@available(*, unavailable)
extension ByteBuffer: Sendable {}
