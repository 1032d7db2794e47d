/// Splits a complete head (already bounded and checked for bare CR by `MessageHeadScanner`) into its
/// start line and header fields, validating field syntax.
enum MessageHead {
    /// `head` ends with the empty line. Returns the start line's byte range and the fields.
    static func parse(_ head: UnsafeRawBufferPointer) throws(HTTPParseError) -> (startLine: Range<Int>, headers: HTTPHeaders) {
        var startLine: Range<Int>?
        var fields: [HTTPHeaders.Element] = []
        var lineStart = 0
        while lineStart < head.count {
            let lf = head[lineStart...].firstIndex(of: ASCII.lf) ?? head.count
            var lineEnd = lf
            if lineEnd > lineStart && head[lineEnd - 1] == ASCII.cr { lineEnd -= 1 }
            defer { lineStart = lf + 1 }
            if lineEnd == lineStart {
                if startLine == nil { continue }
                break
            }
            let line = UnsafeRawBufferPointer(rebasing: head[lineStart..<lineEnd])
            if startLine == nil {
                startLine = lineStart..<lineEnd
            } else {
                fields.append(try parseField(line))
            }
        }
        guard let startLine else { throw .badRequestLine }
        return (startLine, HTTPHeaders(fields))
    }

    /// `name ":" OWS value OWS` (RFC 9112 §5).
    static func parseField(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPHeaders.Element {
        // A field line that starts with whitespace continues the previous one (obs-fold), or, right after
        // the start line, hides a field from some parsers but not others; both are rejected.
        guard let first = line.first, !ASCII.isWhitespace(first) else { throw .obsoleteLineFolding }
        guard let colon = line.firstIndex(of: ASCII.colon), colon > 0 else { throw .badHeaderName }
        for b in line[..<colon] where !ASCII.isTokenChar(b) { throw .badHeaderName }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, ASCII.isWhitespace(line[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, ASCII.isWhitespace(line[valueEnd - 1]) { valueEnd -= 1 }
        for b in line[valueStart..<valueEnd] where !ASCII.isFieldValueChar(b) { throw .badHeaderValue }
        return (name: String(decoding: UnsafeRawBufferPointer(rebasing: line[..<colon]), as: UTF8.self),
                value: String(decoding: UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd]), as: UTF8.self))
    }
}
