/// A streaming UTF-8 validator: a deterministic automaton over bytes, so a text message can be checked
/// fragment by fragment as it arrives, whatever the split (RFC 6455 §8.1 asks for fail-fast on invalid
/// text). It accepts exactly the well-formed sequences of Unicode Table 3-7: no overlong forms, no
/// surrogates (U+D800–DFFF), nothing above U+10FFFF.
public struct UTF8Validator: Sendable {
    /// The automaton's states. The "need" states name what the next byte must be; each multi-byte lead
    /// with a restricted second byte (E0, ED, F0, F4) gets its own state, which is how overlongs,
    /// surrogates and code points above U+10FFFF are excluded without decoding.
    enum State: UInt8 {
        case accept = 0
        case reject = 1
        case tail1 = 2        // one more 80–BF
        case tail2 = 3        // two more 80–BF
        case tail3 = 4        // three more 80–BF
        case afterE0 = 5      // A0–BF, then one more
        case afterED = 6      // 80–9F (no surrogates), then one more
        case afterF0 = 7      // 90–BF (no overlong), then two more
        case afterF4 = 8      // 80–8F (≤ U+10FFFF), then two more
    }

    /// Transition table, `table[state * 256 + byte]`, built once from the rules above rather than typed
    /// in as magic numbers.
    static let table: [UInt8] = {
        var t = [UInt8](repeating: State.reject.rawValue, count: 9 * 256)
        func set(_ s: State, _ range: ClosedRange<Int>, _ to: State) {
            for b in range { t[Int(s.rawValue) * 256 + b] = to.rawValue }
        }
        set(.accept, 0x00...0x7F, .accept)
        set(.accept, 0xC2...0xDF, .tail1)
        set(.accept, 0xE0...0xE0, .afterE0)
        set(.accept, 0xE1...0xEC, .tail2)
        set(.accept, 0xED...0xED, .afterED)
        set(.accept, 0xEE...0xEF, .tail2)
        set(.accept, 0xF0...0xF0, .afterF0)
        set(.accept, 0xF1...0xF3, .tail3)
        set(.accept, 0xF4...0xF4, .afterF4)
        set(.tail1, 0x80...0xBF, .accept)
        set(.tail2, 0x80...0xBF, .tail1)
        set(.tail3, 0x80...0xBF, .tail2)
        set(.afterE0, 0xA0...0xBF, .tail1)
        set(.afterED, 0x80...0x9F, .tail1)
        set(.afterF0, 0x90...0xBF, .tail2)
        set(.afterF4, 0x80...0x8F, .tail2)
        return t
    }()

    var state: State = .accept

    public init() {}

    /// False once any invalid byte was seen; stays false (the reject state is sticky).
    public var isValidSoFar: Bool { state != .reject }

    /// True when everything fed so far is complete, valid UTF-8 (not in the middle of a sequence).
    public var isComplete: Bool { state == .accept }

    /// Feeds the next chunk; returns `isValidSoFar`.
    @discardableResult
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard state != .reject, let base = bytes.baseAddress else { return state != .reject }
        let count = bytes.count
        var s = state.rawValue
        Self.table.withUnsafeBufferPointer { t in
            var i = 0
            while i < count {
                // ASCII runs, the common case for JSON, skip the table eight bytes at a time.
                if s == 0 {
                    while i &+ 8 <= count,
                          base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                        i &+= 8
                    }
                    if i == count { break }
                }
                s = t[Int(s) &* 256 &+ Int(base.load(fromByteOffset: i, as: UInt8.self))]
                if s == State.reject.rawValue { break }
                i &+= 1
            }
        }
        state = State(rawValue: s) ?? .reject
        return state != .reject
    }

    /// Validates one complete buffer.
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var v = UTF8Validator()
        v.feed(bytes)
        return v.isComplete
    }

    public mutating func reset() { state = .accept }
}
