/// Percent-decoding (RFC 3986 §2.1) of a request-target's path and query.
enum PercentDecoding {
    /// Decodes `bytes`; nil when an escape is incomplete or not hex, or the result is not UTF-8.
    /// `plusAsSpace` applies the form-encoding rule used in query strings.
    static func decode(_ bytes: UnsafeRawBufferPointer, plusAsSpace: Bool) -> String? {
        var needsWork = false
        for b in bytes where b == ASCII.percent || (plusAsSpace && b == ASCII.plus) || b >= 0x80 {
            needsWork = true
            break
        }
        // Targets are visible ASCII after validation, so without escapes the bytes are the string.
        if !needsWork { return String(decoding: bytes, as: UTF8.self) }

        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == ASCII.percent {
                guard i + 2 < bytes.count, let hi = ASCII.hexValue(bytes[i + 1]), let lo = ASCII.hexValue(bytes[i + 2])
                else { return nil }
                out.append(UInt8(hi << 4 | lo))
                i += 3
            } else {
                out.append(plusAsSpace && b == ASCII.plus ? ASCII.space : b)
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Splits an origin-form target into its decoded path and decoded query items.
    static func parseTarget(_ target: UnsafeRawBufferPointer) throws(HTTPParseError)
        -> (path: String, query: [(name: String, value: String)]) {
        guard target.first == ASCII.slash else { throw .badTarget }
        for b in target where !ASCII.isVisible(b) { throw .badTarget }
        let queryStart = target.firstIndex(of: ASCII.question)
        let rawPath = UnsafeRawBufferPointer(rebasing: target[..<(queryStart ?? target.count)])
        guard let path = decode(rawPath, plusAsSpace: false) else { throw .badTarget }
        guard let queryStart else { return (path, []) }

        var items: [(name: String, value: String)] = []
        let query = UnsafeRawBufferPointer(rebasing: target[(queryStart + 1)...])
        var pairStart = 0
        while pairStart <= query.count {
            let pairEnd = query[pairStart...].firstIndex(of: ASCII.ampersand) ?? query.count
            if pairEnd > pairStart {
                let pair = UnsafeRawBufferPointer(rebasing: query[pairStart..<pairEnd])
                let equals = pair.firstIndex(of: ASCII.equals)
                let name = decode(UnsafeRawBufferPointer(rebasing: pair[..<(equals ?? pair.count)]), plusAsSpace: true)
                var value: String? = ""
                if let equals { value = decode(UnsafeRawBufferPointer(rebasing: pair[(equals + 1)...]), plusAsSpace: true) }
                guard let name, let value else { throw .badTarget }
                items.append((name: name, value: value))
            }
            pairStart = pairEnd + 1
        }
        return (path, items)
    }

    /// The decoded segments of a raw path ("/a/b%2Fc" gives ["a", "b/c"]); nil on a bad escape.
    static func pathSegments(_ rawPath: Substring) -> [String]? {
        var segments: [String] = []
        var raw = rawPath
        if raw.first == "/" { raw = raw.dropFirst() }
        for piece in raw.split(separator: "/", omittingEmptySubsequences: false) {
            var text = String(piece)
            guard let decoded = text.withUTF8({ decode(UnsafeRawBufferPointer($0), plusAsSpace: false) }) else { return nil }
            segments.append(decoded)
        }
        return segments
    }
}
