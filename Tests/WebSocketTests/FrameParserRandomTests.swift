import XCTest
@testable import WebSocket

/// Differential property: however a stream is cut into reads, the parser reports the same events and
/// the same error. Streams are random sequences of valid and slightly corrupted frames, from a fixed
/// seed so a failure reproduces.
final class FrameParserRandomTests: XCTestCase {
    private struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    private func randomControlFrame(_ rng: inout SplitMix64) -> [UInt8] {
        let mask = UInt32(truncatingIfNeeded: rng.next())
        switch rng.below(3) {
        case 0: return rawFrame(0x9, (0..<rng.below(126)).map { UInt8(truncatingIfNeeded: $0) }, mask: mask)
        case 1: return rawFrame(0xA, [UInt8](repeating: 1, count: rng.below(4)), mask: mask)
        default: return rawFrame(0x8, closePayload([1000, 1001, 3000, 1005, 999][rng.below(5)], "ok ✓"), mask: mask)
        }
    }

    /// Mostly valid traffic: messages of whole characters, some fragmented (cut at any byte) with
    /// control frames between the fragments, in random length encodings; one in six frames corrupted.
    private func randomStream(_ rng: inout SplitMix64) -> [UInt8] {
        var stream: [UInt8] = []
        let characters = ["a", "é", "日", "🎉", " ", "{", "\""]
        for _ in 0..<(1 + rng.below(5)) {
            if rng.below(4) == 0 { stream += randomControlFrame(&rng); continue }
            let isText = rng.below(3) != 0
            let size = [0, 1, 5, 125, 126, 300, 2000, 5000][rng.below(8)]
            var payload: [UInt8] = []
            while payload.count < size {
                payload += isText ? Array(characters[rng.below(characters.count)].utf8) : [UInt8(truncatingIfNeeded: rng.next())]
            }
            let pieces = 1 + rng.below(4)
            var cuts = (0..<(pieces - 1)).map { _ in rng.below(payload.count + 1) }.sorted()
            cuts.append(payload.count)
            var begin = 0
            for (i, cut) in cuts.enumerated() {
                let opcode: UInt8 = i == 0 ? (isText ? 0x1 : 0x2) : 0x0
                let form: LengthForm = [.minimal, .minimal, .sixteen, .sixtyFour][rng.below(4)]
                var frame = rawFrame(opcode, Array(payload[begin..<cut]), fin: i == cuts.count - 1,
                                     mask: UInt32(truncatingIfNeeded: rng.next()), form: form)
                if rng.below(6) == 0 { frame[rng.below(frame.count)] ^= UInt8(truncatingIfNeeded: 1 << rng.below(8)) }
                stream += frame
                if i < cuts.count - 1 && rng.below(3) == 0 { stream += randomControlFrame(&rng) }
                begin = cut
            }
        }
        return stream
    }

    func testSplitsNeverChangeTheOutcome() {
        var rng = SplitMix64(state: 0xC0FFEE)
        let scratch = WebSocketServerSettings()
        for round in 0..<1500 {
            let stream = randomStream(&rng)
            let whole = parse([stream[...]], maxMessageSize: 4096, scratch: scratch)
            var cuts: [Int] = []
            for _ in 0..<(1 + rng.below(5)) { cuts.append(rng.below(stream.count + 1)) }
            cuts.sort()
            var chunks: [ArraySlice<UInt8>] = []
            var start = 0
            for cut in cuts { chunks.append(stream[start..<cut]); start = cut }
            chunks.append(stream[start...])
            let split = parse(chunks, maxMessageSize: 4096, scratch: rng.below(2) == 0 ? scratch : nil)
            if split.events != whole.events || split.error != whole.error {
                XCTFail("round \(round): cuts \(cuts) gave \(split.events) \(String(describing: split.error)), "
                    + "whole gave \(whole.events) \(String(describing: whole.error))")
                return
            }
        }
    }
}
