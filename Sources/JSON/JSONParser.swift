/// The document structure: a loop over values with an explicit stack of open containers instead of
/// recursion, so that nesting depth is bounded by `maxDepth` alone and never by the thread's stack.
///
/// Members of the open containers accumulate on one scratch stack shared by the whole parse; when a
/// container closes its members are moved into one exactly sized array. A message therefore costs
/// one allocation per container plus the scratch stack, instead of repeated array regrowth.
struct JSONParser {
    let base: UnsafePointer<UInt8>
    let end: Int
    var position = 0

    /// Members of the open containers, innermost last. Array elements carry an empty key. Each open
    /// container is preceded by a placeholder member holding the key it will be stored under.
    private var scratch: [JSONObject.Element] = []

    init(base: UnsafePointer<UInt8>, count: Int) {
        self.base = base
        self.end = count
    }

    /// Parses the whole input as one value followed only by whitespace.
    /// - Parameter frames: room for `min(maxDepth, input length)` open containers; each slot holds the
    ///   scratch index where the container's members start, shifted left once, with bit 0 set for objects.
    mutating func parseDocument(frames: UnsafeMutableBufferPointer<Int>, maxDepth: Int) throws(JSONError) -> JSONValue {
        var depth = 0
        // The key the next value will be stored under; always "" inside arrays.
        var key = ""
        var value: JSONValue

        nextValue: while true {
            skipWhitespace()
            guard position < end else { throw error(JSONError.unexpectedEnd) }
            switch base[position] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let isObject = base[position] == UInt8(ascii: "{")
                guard depth < maxDepth, depth < frames.count else { throw error(JSONError.tooDeep) }
                position += 1
                skipWhitespace()
                if position < end && base[position] == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    position += 1
                    value = isObject ? .object(JSONObject()) : .array([])
                    break
                }
                if scratch.capacity == 0 { scratch.reserveCapacity(16) }
                scratch.append((key, .null))
                frames[depth] = scratch.count << 1 | (isObject ? 1 : 0)
                depth += 1
                key = isObject ? try parseKey() : ""
                continue nextValue
            case UInt8(ascii: "\""):
                value = .string(try parseString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = try parseNumber()
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            default:
                throw error(JSONError.unexpectedCharacter)
            }

            // A value is complete: store it in its container, then close every container that ends
            // right after it, until a comma asks for the next value or the document is done.
            if depth > 0 { scratch.append((key, value)) }
            while depth > 0 {
                skipWhitespace()
                guard position < end else { throw error(JSONError.unexpectedEnd) }
                let frame = frames[depth - 1]
                let isObject = frame & 1 == 1
                let byte = base[position]
                if byte == UInt8(ascii: ",") {
                    position += 1
                    if isObject {
                        skipWhitespace()
                        key = try parseKey()
                    } else {
                        skipWhitespace()
                        if position < end && base[position] == UInt8(ascii: "]") {
                            throw error(JSONError.trailingComma)
                        }
                    }
                    continue nextValue
                }
                guard byte == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else {
                    throw error(isObject ? JSONError.expectedCommaOrBrace : JSONError.expectedCommaOrBracket)
                }
                position += 1
                depth -= 1
                let start = frame >> 1
                let container = closeContainer(membersFrom: start, isObject: isObject)
                if depth == 0 {
                    value = container
                } else {
                    scratch[start - 1].value = container
                }
            }
            skipWhitespace()
            guard position == end else { throw error(JSONError.trailingCharacters) }
            return value
        }
    }

    /// Moves the members of the container that starts at `start` off the scratch stack into its value.
    /// A function of its own so that the slice of `scratch` is gone before the stack shrinks: a live
    /// slice would make `removeSubrange` copy the whole stack, quadratic in the nesting depth.
    private mutating func closeContainer(membersFrom start: Int, isObject: Bool) -> JSONValue {
        let container: JSONValue = isObject
            ? .object(JSONObject(uniquing: scratch[start...]))
            : .array(scratch[start...].map(\.value))
        scratch.removeSubrange(start...)
        return container
    }

    /// Reads `"key"` and the colon after it, leaving the position at the member's value.
    private mutating func parseKey() throws(JSONError) -> String {
        guard position < end else { throw error(JSONError.unexpectedEnd) }
        guard base[position] == UInt8(ascii: "\"") else {
            // A key is only parsed where the object is known to be non-empty, so '}' here follows a comma.
            throw error(base[position] == UInt8(ascii: "}") ? JSONError.trailingComma : JSONError.expectedKey)
        }
        let key = try parseString()
        skipWhitespace()
        guard position < end else { throw error(JSONError.unexpectedEnd) }
        guard base[position] == UInt8(ascii: ":") else { throw error(JSONError.expectedColon) }
        position += 1
        return key
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let length = literal.utf8CodeUnitCount
        guard end - position >= length else { throw error(JSONError.invalidLiteral) }
        let expected = literal.utf8Start
        for i in 0..<length where base[position + i] != expected[i] {
            throw error(JSONError.invalidLiteral)
        }
        position += length
    }

    /// RFC 8259 whitespace only: space, tab, line feed, carriage return.
    @inline(__always)
    mutating func skipWhitespace() {
        while position < end {
            switch base[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// An error at the current position.
    func error(_ reason: String) -> JSONError {
        JSONError(offset: position, reason: reason)
    }
}
