@testable import WebSocket

/// Builds frames byte by byte, independently of `WebSocketFrameEncoder`, including malformed ones.
enum LengthForm { case minimal, sixteen, sixtyFour }

func rawFrame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, mask: UInt32? = 0x37FA_213D,
              rsv: UInt8 = 0, form: LengthForm = .minimal, declaredLength: UInt64? = nil) -> [UInt8] {
    var out: [UInt8] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode]
    let maskBit: UInt8 = mask == nil ? 0 : 0x80
    let length = declaredLength ?? UInt64(payload.count)
    var useForm = form
    if form == .minimal { useForm = length < 126 ? .minimal : (length <= 0xFFFF ? .sixteen : .sixtyFour) }
    switch useForm {
    case .minimal: out.append(maskBit | UInt8(length))
    case .sixteen:
        out.append(maskBit | 126)
        out += [UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    case .sixtyFour:
        out.append(maskBit | 127)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(length >> UInt64(shift) & 0xFF)) }
    }
    if let mask {
        let key: [UInt8] = [UInt8(mask >> 24), UInt8(mask >> 16 & 0xFF), UInt8(mask >> 8 & 0xFF), UInt8(mask & 0xFF)]
        out += key
        out += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    } else {
        out += payload
    }
    return out
}

func closePayload(_ code: UInt16, _ reason: String = "") -> [UInt8] {
    [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8)
}

/// An event with its payload copied out, so it can be compared after the parser moved on.
enum RecordedEvent: Equatable, CustomStringConvertible {
    case text(String)
    case binary([UInt8])
    case ping([UInt8])
    case pong
    case close(UInt16?, String)

    init(_ event: WebSocketEvent) {
        switch event {
        case .text(let p): self = .text(String(decoding: p, as: UTF8.self))
        case .binary(let p): self = .binary(Array(p))
        case .ping(let p): self = .ping(Array(p))
        case .pong: self = .pong
        case .close(let code, let reason): self = .close(code, reason)
        }
    }

    var description: String {
        switch self {
        case .text(let s): return "text(\(s.utf8.count) bytes)"
        case .binary(let b): return "binary(\(b.count) bytes)"
        case .ping(let b): return "ping(\(b))"
        case .pong: return "pong"
        case .close(let c, let r): return "close(\(String(describing: c)), \(r))"
        }
    }
}

struct ParseOutcome: Equatable {
    var events: [RecordedEvent] = []
    var error: WebSocketError?
    /// Per-connection buffer held after the last chunk was consumed.
    var bufferedAfter = 0
}

/// Feeds `chunks` as separate reads. Each chunk lives in its own allocation that is scribbled over and
/// freed after its read, as the loop's shared read buffer would be, so a parser that kept a pointer into
/// an earlier read would deliver garbage.
func parse(_ chunks: [ArraySlice<UInt8>], role: WebSocketFrameParser.Role = .server,
           maxMessageSize: Int = 64 * 1024, scratch: WebSocketServerSettings? = WebSocketServerSettings()) -> ParseOutcome {
    var parser = WebSocketFrameParser(role: role, maxMessageSize: maxMessageSize)
    var outcome = ParseOutcome()
    for chunk in chunks {
        let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunk.count, 1), alignment: 1)
        defer {
            memory.initializeMemory(as: UInt8.self, repeating: 0xEE)
            memory.deallocate()
        }
        chunk.withUnsafeBytes { memory.copyMemory(from: $0) }
        var input = UnsafeRawBufferPointer(rebasing: memory[0..<chunk.count])
        do {
            while let event = try parser.next(&input, scratch: scratch) {
                outcome.events.append(RecordedEvent(event))
            }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    outcome.bufferedAfter = parser.bufferedCapacity
    return outcome
}

/// The ways the tests cut a byte stream into reads.
func everySplit(_ bytes: [UInt8]) -> [[ArraySlice<UInt8>]] {
    var ways: [[ArraySlice<UInt8>]] = [[bytes[...]]]
    for i in 0...bytes.count { ways.append([bytes[..<i], bytes[i...]]) }
    ways.append(bytes.indices.map { bytes[$0...$0] })
    return ways
}

/// A few positions in a large stream: every byte of the first `head` bytes, then every `step`th.
func sampledSplits(_ bytes: [UInt8], head: Int = 32, step: Int = 4093) -> [[ArraySlice<UInt8>]] {
    var positions = Array(0...min(head, bytes.count))
    positions += stride(from: head, to: bytes.count, by: step)
    positions += [bytes.count - 1, bytes.count]
    return positions.map { [bytes[..<$0], bytes[$0...]] }
}
