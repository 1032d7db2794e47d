import WebSocket

/// The `depth` ping frames of the pingpong scenario, built and masked once and shared by every
/// connection: frame k is `{"type":"ping","id":"k"}`. A connection writes all of them at start in one
/// write and then frame k again for each pong with id k; the pongs of one read answer consecutive
/// slots, so their pings go out as at most two slices of this buffer: no encoding, one copy.
///
/// Every frame is masked, as RFC 6455 §5.3 requires of a client, but with one fixed key. The key must
/// be unpredictable to protect intermediaries that might misread a frame as HTTP (cache poisoning); a
/// load generator talking straight to the server under test has no such intermediary, and the server
/// still unmasks every byte, so its work is the same as with random keys.
final class PingBatch {
    /// Nonzero, with distinct bytes, so no server can shortcut the unmasking.
    static let maskKey: UInt32 = 0x5A3C_96E1

    let depth: Int
    /// All frames back to back.
    let all: UnsafeRawBufferPointer
    /// `offsets[k]` is where frame k starts; `offsets[depth]` is the end.
    private let offsets: UnsafeMutablePointer<Int>

    init(depth: Int) {
        precondition(depth > 0, "depth must be positive")
        self.depth = depth
        let payloads = (0..<depth).map { Array("{\"type\":\"ping\",\"id\":\"\($0)\"}".utf8) }
        let sizes = payloads.map { WebSocketFrameEncoder.frameSize(payloadCount: $0.count, masked: true) }
        let total = sizes.reduce(0, +)
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: total, alignment: 16)
        offsets = .allocate(capacity: depth + 1)
        var offset = 0
        for (k, payload) in payloads.enumerated() {
            offsets[k] = offset
            payload.withUnsafeBytes { payload in
                let target = UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<(offset + sizes[k])])
                WebSocketFrameEncoder.encode(opcode: .text, payload: payload, maskKey: Self.maskKey, into: target)
            }
            offset += sizes[k]
        }
        offsets[depth] = offset
        all = UnsafeRawBufferPointer(bytes)
    }

    deinit {
        all.deallocate()
        offsets.deallocate()
    }

    /// Frames `first ..< end` (0 ≤ first < end ≤ depth), contiguous in `all`.
    @inline(__always)
    func frames(_ first: Int, _ end: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: all.baseAddress! + offsets[first], count: offsets[end] - offsets[first])
    }
}

@available(*, unavailable)
extension PingBatch: Sendable {}
