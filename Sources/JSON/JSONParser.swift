/// The document structure: a loop over values with an explicit stack of open containers instead of
/// recursion, so that nesting depth is bounded by `maxDepth` alone and never by the thread's stack.
///
/// Members of the open containers accumulate on one scratch stack shared by the whole parse; when a
/// container closes its members are moved (not copied: no reference counting) into one exactly
/// sized array. The scratch stack starts in caller-provided memory, on the stack for a small
/// message, and moves to the heap only when a document holds more open members than that.
struct JSONParser: ~Copyable {
    let base: UnsafePointer<UInt8>
    let end: Int
    var position = 0

    /// Members of the open containers, innermost last; `scratchCount` of them are initialized. Array
    /// elements carry an empty key. Each open container is preceded by a placeholder member holding
    /// the key its value will be stored under.
    private var scratch: UnsafeMutablePointer<JSONObject.Element>
    private var scratchCount = 0
    private var scratchCapacity: Int
    /// Whether `scratch` was allocated here (and must be freed here) rather than lent by the caller.
    private var scratchIsOwned = false

    /// - Parameter scratch: uninitialized memory for the first members; it must outlive the parser.
    init(base: UnsafePointer<UInt8>, count: Int, scratch: UnsafeMutableBufferPointer<JSONObject.Element>) {
        self.base = base
        self.end = count
        if let start = scratch.baseAddress, scratch.count > 0 {
            self.scratch = start
            self.scratchCapacity = scratch.count
        } else {
            self.scratch = .allocate(capacity: 16)
            self.scratchCapacity = 16
            self.scratchIsOwned = true
        }
    }

    deinit {
        // Members still open when the parse failed.
        scratch.deinitialize(count: scratchCount)
        if scratchIsOwned { scratch.deallocate() }
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
                push(key, .null)
                frames[depth] = scratchCount << 1 | (isObject ? 1 : 0)
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
            if depth > 0 { push(key, value) }
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

    @inline(__always)
    private mutating func push(_ key: String, _ value: JSONValue) {
        if scratchCount == scratchCapacity { growScratch() }
        (scratch + scratchCount).initialize(to: (key, value))
        scratchCount += 1
    }

    private mutating func growScratch() {
        let capacity = scratchCapacity * 2
        let grown = UnsafeMutablePointer<JSONObject.Element>.allocate(capacity: capacity)
        grown.moveInitialize(from: scratch, count: scratchCount)
        if scratchIsOwned { scratch.deallocate() }
        scratch = grown
        scratchCapacity = capacity
        scratchIsOwned = true
    }

    /// Moves the members of the container that starts at `start` off the scratch stack into its value.
    private mutating func closeContainer(membersFrom start: Int, isObject: Bool) -> JSONValue {
        let count = scratchCount - start
        let members = scratch + start
        scratchCount = start
        if isObject { return .object(JSONObject(moving: members, count: count)) }
        var elements: [JSONValue] = []
        elements.reserveCapacity(count)
        for i in 0..<count { elements.append((members + i).move().value) }
        return .array(elements)
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
