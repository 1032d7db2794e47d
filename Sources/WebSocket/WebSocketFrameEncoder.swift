import EventLoop

/// Builds frames. A server frame is unmasked, so a broadcast is framed once into one `ByteBuffer` and
/// that same buffer is written to every subscriber; a client frame carries a fresh mask key.
public enum WebSocketFrameEncoder {
    /// Header bytes plus payload bytes of one frame.
    public static func frameSize(payloadCount: Int, masked: Bool) -> Int {
        headerSize(payloadCount: payloadCount, masked: masked) + payloadCount
    }

    static func headerSize(payloadCount: Int, masked: Bool) -> Int {
        let base = payloadCount < 126 ? 2 : (payloadCount <= 0xFFFF ? 4 : 10)
        return masked ? base + 4 : base
    }

    /// Writes one frame (header, then the payload, masked with `maskKey` if given) at the start of
    /// `destination`, which must hold `frameSize(payloadCount:masked:)` bytes and must not overlap
    /// `payload`. Returns the number of bytes written. `maskKey` is in network order (its most
    /// significant byte is the first mask byte).
    @discardableResult
    public static func encode(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, maskKey: UInt32? = nil,
                              fin: Bool = true, into destination: UnsafeMutableRawBufferPointer) -> Int {
        let count = payload.count
        let total = frameSize(payloadCount: count, masked: maskKey != nil)
        precondition(destination.count >= total, "destination too small for the frame")
        guard let p = destination.baseAddress else { return 0 }
        p.storeBytes(of: (fin ? 0x80 : 0) | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var offset: Int
        if count < 126 {
            p.storeBytes(of: maskBit | UInt8(count), toByteOffset: 1, as: UInt8.self)
            offset = 2
        } else if count <= 0xFFFF {
            p.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            p.storeBytes(of: UInt16(count).bigEndian, toByteOffset: 2, as: UInt16.self)
            offset = 4
        } else {
            p.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            p.storeBytes(of: UInt64(count).bigEndian, toByteOffset: 2, as: UInt64.self)
            offset = 10
        }
        if let maskKey {
            p.storeBytes(of: maskKey.bigEndian, toByteOffset: offset, as: UInt32.self)
            offset += 4
            if let src = payload.baseAddress {
                WebSocketMask.apply(key: maskKey, phase: 0, from: src, to: p + offset, count: count)
            }
        } else if let src = payload.baseAddress, count > 0 {
            (p + offset).copyMemory(from: src, byteCount: count)
        }
        return total
    }

    /// One frame, header and payload in one allocation.
    public static func frame(opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer, maskKey: UInt32? = nil,
                             fin: Bool = true) -> ByteBuffer {
        ByteBuffer(count: frameSize(payloadCount: payload.count, masked: maskKey != nil)) { destination in
            encode(opcode: opcode, payload: payload, maskKey: maskKey, fin: fin, into: destination)
        }
    }

    /// An unmasked text frame (the server's, e.g. one JSON event for a broadcast).
    public static func textFrame(_ bytes: [UInt8]) -> ByteBuffer {
        bytes.withUnsafeBytes { frame(opcode: .text, payload: $0) }
    }

    public static func pingFrame(payload: [UInt8] = [], maskKey: UInt32? = nil) -> ByteBuffer {
        payload.withUnsafeBytes { frame(opcode: .ping, payload: UnsafeRawBufferPointer(rebasing: $0.prefix(125)), maskKey: maskKey) }
    }

    public static func pongFrame(payload: [UInt8] = [], maskKey: UInt32? = nil) -> ByteBuffer {
        payload.withUnsafeBytes { frame(opcode: .pong, payload: UnsafeRawBufferPointer(rebasing: $0.prefix(125)), maskKey: maskKey) }
    }

    /// A close frame with a status code and a reason, the reason cut to the 123 bytes a control frame
    /// leaves for it (at a character boundary, so it stays valid UTF-8).
    public static func closeFrame(code: UInt16, reason: String = "", maskKey: UInt32? = nil) -> ByteBuffer {
        withClosePayload(code: code, reason: reason) { frame(opcode: .close, payload: $0, maskKey: maskKey) }
    }

    /// Lends the payload of a close frame: the code in network order, then the (possibly cut) reason.
    static func withClosePayload<R>(code: UInt16, reason: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        var reason = reason
        return reason.withUTF8 { utf8 in
            var cut = min(utf8.count, 123)
            if cut < utf8.count {
                while cut > 0 && utf8[cut] & 0xC0 == 0x80 { cut -= 1 }
            }
            return withUnsafeTemporaryAllocation(byteCount: 2 + cut, alignment: 1) { buffer in
                buffer.storeBytes(of: code.bigEndian, as: UInt16.self)
                if cut > 0 { (buffer.baseAddress! + 2).copyMemory(from: utf8.baseAddress!, byteCount: cut) }
                return body(UnsafeRawBufferPointer(buffer))
            }
        }
    }
}
