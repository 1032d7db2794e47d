/// Decodes a chunked body (RFC 9112 §7.1) from input split at any byte. Chunk extensions and trailer
/// fields are read and dropped. Each chunk's size is checked against the body limit when its size line
/// ends, before any of its data is buffered.
struct ChunkedDecoder {
    private enum State {
        case size, sizeWhitespace, chunkExtension, sizeLF
        case data, dataEnd, dataLF
        case trailer, trailerLF
    }

    /// A size line longer than this is not a size line (hex digits are at most 16; extensions are
    /// unused by real clients, so their room is small).
    static let maxSizeLineBytes = 1024

    private var state = State.size
    private var chunkSize = 0
    private var significantDigits = 0
    private var lineLength = 0
    private var remaining = 0
    private var trailerBytes = 0
    /// Sum of the declared chunk sizes so far.
    private var total = 0

    /// Consumes from `start`, appending chunk data to `body`. Returns the index after the last consumed
    /// byte and whether the body (with its trailers) is complete.
    mutating func decode(_ input: UnsafeRawBufferPointer, from start: Int, into body: inout [UInt8],
                         limits: HTTPLimits) throws(HTTPParseError) -> (end: Int, done: Bool) {
        var i = start
        while i < input.count {
            if case .data = state {
                let n = min(remaining, input.count - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + n)]))
                i += n
                remaining -= n
                if remaining == 0 { state = .dataEnd }
                continue
            }
            let b = input[i]
            i += 1
            switch state {
            case .size:
                if let digit = ASCII.hexValue(b) {
                    if chunkSize != 0 || digit != 0 { significantDigits += 1 }
                    // 15 hex digits fit in Int without overflow; any real body is far below.
                    if significantDigits > 15 { throw .badChunk }
                    chunkSize = chunkSize << 4 | digit
                    try countSizeLineByte()
                } else if lineLength == 0 {
                    throw .badChunk
                } else if b == ASCII.semicolon {
                    state = .chunkExtension
                } else if ASCII.isWhitespace(b) {
                    state = .sizeWhitespace
                } else if b == ASCII.cr {
                    state = .sizeLF
                } else if b == ASCII.lf {
                    try endSizeLine(limits)
                } else {
                    throw .badChunk
                }
            case .sizeWhitespace:
                // Whitespace may only precede an extension (BWS ";"), never end the line.
                if b == ASCII.semicolon {
                    state = .chunkExtension
                } else if !ASCII.isWhitespace(b) {
                    throw .badChunk
                }
                try countSizeLineByte()
            case .chunkExtension:
                if b == ASCII.cr {
                    state = .sizeLF
                } else if b == ASCII.lf {
                    try endSizeLine(limits)
                } else if ASCII.isFieldValueChar(b) {
                    try countSizeLineByte()
                } else {
                    throw .badChunk
                }
            case .sizeLF:
                guard b == ASCII.lf else { throw .bareCR }
                try endSizeLine(limits)
            case .dataEnd:
                if b == ASCII.cr {
                    state = .dataLF
                } else if b == ASCII.lf {
                    state = .size
                } else {
                    throw .badChunk
                }
            case .dataLF:
                guard b == ASCII.lf else { throw .badChunk }
                state = .size
            case .trailer, .trailerLF:
                trailerBytes += 1
                if trailerBytes > limits.maxHeadBytes { throw .headTooLarge }
                if case .trailerLF = state, b != ASCII.lf { throw .bareCR }
                if b == ASCII.cr {
                    state = .trailerLF
                } else if b == ASCII.lf {
                    if lineLength == 0 {
                        self = ChunkedDecoder()
                        return (i, true)
                    }
                    lineLength = 0
                    state = .trailer
                } else {
                    lineLength += 1
                }
            case .data:
                break
            }
        }
        return (i, false)
    }

    private mutating func countSizeLineByte() throws(HTTPParseError) {
        lineLength += 1
        if lineLength > Self.maxSizeLineBytes { throw .badChunk }
    }

    private mutating func endSizeLine(_ limits: HTTPLimits) throws(HTTPParseError) {
        let size = chunkSize
        chunkSize = 0
        significantDigits = 0
        lineLength = 0
        if size == 0 {
            state = .trailer
            return
        }
        // `total` never exceeds the limit, so the subtraction cannot overflow.
        guard size <= limits.maxBodyBytes - total else { throw .bodyTooLarge }
        total += size
        remaining = size
        state = .data
    }
}
