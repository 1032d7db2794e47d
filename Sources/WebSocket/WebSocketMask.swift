/// XOR masking of RFC 6455 §5.3, shared by the parser (unmasking client frames) and the encoder
/// (masking client frames). Masking is its own inverse.
enum WebSocketMask {
    /// XORs `count` bytes from `source` into `destination` (which may be the same memory) with `key`,
    /// starting at key byte `phase` (0–3). `key` is in network order: its most significant byte is the
    /// first mask byte on the wire.
    static func apply(key: UInt32, phase: Int, from source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer,
                      count: Int) {
        let shift = UInt32((phase & 3) * 8)
        let rotated = shift == 0 ? key : (key << shift) | (key >> (32 - shift))
        // Eight bytes at a time: the big-endian representation puts the first mask byte at the lowest
        // address, which is the byte order the wire uses whatever the host's.
        let word = ((UInt64(rotated) << 32) | UInt64(rotated)).bigEndian
        var i = 0
        while i &+ 8 <= count {
            let v = source.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ word
            destination.storeBytes(of: v, toByteOffset: i, as: UInt64.self)
            i &+= 8
        }
        while i < count {
            let keyByte = UInt8(truncatingIfNeeded: rotated >> (24 - UInt32(i & 3) * 8))
            let v = source.load(fromByteOffset: i, as: UInt8.self) ^ keyByte
            destination.storeBytes(of: v, toByteOffset: i, as: UInt8.self)
            i &+= 1
        }
    }
}
