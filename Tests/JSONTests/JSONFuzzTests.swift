import JSON
import XCTest

/// Deterministic mutation fuzzing: damaged documents must be accepted or rejected, never crash, and
/// whatever is accepted must survive a round trip.
final class JSONFuzzTests: XCTestCase {
    func testRandomMutationsNeverCrash() {
        var random = SplitMix64(seed: 0xF022)
        var seeds: [[UInt8]] = JSONTestSuite.accepted.map(\.bytes)
        seeds += [
            #"{"type":"ping","id":"3"}"#, #"{"type":"checkin","class_id":"c1","qr":"c1.115502666.Zm9v","id":"2"}"#,
            #"{"a":[1,-2.5e-3,{"b":"\u00e9\uD83D\uDE00\n"}],"c":null,"d":[true,false]}"#,
            #"["0123456789abcdefghijklmnop \"escaped\" é😀", 12345678901234567890, 1e308]"#,
        ].map { Array($0.utf8) }
        let interesting: [UInt8] = Array("{}[]\":,\\-+.eE0123456789tfnu \t\n".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xFF]

        var accepted = 0
        for _ in 0..<100_000 {
            var bytes = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                mutate(&bytes, interesting: interesting, using: &random)
            }
            do {
                let value = try parseExactBuffer(bytes)
                accepted += 1
                XCTAssertEqual(try JSON.parse(value.serialized()), value)
            } catch {
                XCTAssertTrue((0...bytes.count).contains(error.offset), "\(error) for \(bytes)")
                XCTAssertFalse(error.reason.isEmpty)
            }
        }
        // Both outcomes must occur, or the mutations are too weak or too destructive to mean anything.
        XCTAssertGreaterThan(accepted, 3_000)
        XCTAssertLessThan(accepted, 80_000)
    }

    private func mutate(_ bytes: inout [UInt8], interesting: [UInt8], using random: inout SplitMix64) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<7, using: &random) {
        case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
        case 1 where !bytes.isEmpty: bytes[position] = interesting.randomElement(using: &random)!
        case 2: bytes.insert(interesting.randomElement(using: &random)!, at: position)
        case 3 where !bytes.isEmpty: bytes.remove(at: position)
        case 4: bytes.removeLast(Int.random(in: 0...bytes.count, using: &random))
        case 5 where !bytes.isEmpty:
            let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
            bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &random))
        default: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
        }
    }
}
