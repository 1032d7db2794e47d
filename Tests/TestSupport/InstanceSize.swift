/// What the Swift runtime allocates for one instance of a class (its header included), read from the
/// class metadata. A test that holds an object's size down checks this rather than
/// `malloc_usable_size` of a live object, which also counts the slack glibc leaves when it hands out a
/// larger free chunk whole, so it depends on what the process freed before.
public func swiftInstanceSize(_ type: AnyClass) -> Int {
    // Class metadata without Objective-C interop (Linux): kind, superclass, flags (UInt32), instance
    // address point (UInt32), instance size (UInt32) at byte 24. Callers check a class of known size
    // too (`InstanceSizeProbe`: 32 bytes), so a different layout fails loudly instead of passing.
    Int(unsafeBitCast(type, to: UnsafeRawPointer.self).load(fromByteOffset: 24, as: UInt32.self))
}

/// The chunk glibc's malloc takes for a request of `size` bytes: size + 8 rounded up to 16, at least 32.
public func glibcChunkSize(request size: Int) -> Int { max(32, (size + 8 + 15) & ~15) }

/// A class of known instance size (16-byte header + two words) for checking `swiftInstanceSize`.
public final class InstanceSizeProbe {
    var first = 0
    var second = 0
    public init() {}
}
