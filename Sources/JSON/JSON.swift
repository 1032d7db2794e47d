/// Entry points for reading JSON (RFC 8259, strictly).
///
/// A document is parsed from one complete buffer: the hub parses whole WebSocket messages and the
/// REST sidecar whole request bodies, both already size-limited, so there is no incremental API.
///
/// Rejected: trailing commas, leading zeros, `NaN`/`Infinity`, comments, a byte-order mark, bare
/// control characters in strings, unknown escapes, unpaired surrogates in `\u` escapes, invalid
/// UTF-8 anywhere, anything but whitespace after the value, nesting deeper than `maxDepth`, and
/// numbers whose value is not a finite `Double` (e.g. `1e309`). Numbers too small for a `Double`
/// (e.g. `1e-400`) become 0. Duplicate keys are accepted and the last value wins.
public enum JSON {
    /// Nesting deeper than any message of the protocol needs, yet far from exhausting memory.
    public static let defaultMaxDepth = 64

    /// Parses one JSON document from `bytes`.
    /// - Parameter maxDepth: how many arrays and objects may be nested; `[[1]]` has depth 2 and a
    ///   scalar depth 0. The parser itself does not recurse, but releasing, comparing and
    ///   serializing a value do, so keep it modest (the default suits every protocol message).
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONError(offset: 0, reason: JSONError.unexpectedEnd)
        }
        // One slot per open container; a document cannot nest deeper than it has bytes, which bounds
        // the allocation whatever maxDepth says. Small enough to live on the stack by default.
        let frameCapacity = max(0, min(maxDepth, bytes.count))
        return try withUnsafeTemporaryAllocation(of: Int.self, capacity: frameCapacity) {
            (frames) throws(JSONError) -> JSONValue in
            // Room for the members of a typical message without touching the heap.
            try withUnsafeTemporaryAllocation(of: JSONObject.Element.self, capacity: 16) {
                (scratch) throws(JSONError) -> JSONValue in
                var parser = JSONParser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, scratch: scratch)
                return try parser.parseDocument(frames: frames, maxDepth: maxDepth)
            }
        }
    }

    /// Parses one JSON document from `bytes`.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        // withUnsafeBytes only rethrows untyped errors, so the typed error travels out as a Result.
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) -> JSONValue in try parse(buffer, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    /// Parses one JSON document from the UTF-8 of `text`.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONError) -> JSONValue in try parse(UnsafeRawBufferPointer(buffer), maxDepth: maxDepth) }
        }
        return try result.get()
    }
}
