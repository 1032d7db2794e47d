/// Finds the end of a message head (start line + header fields + empty line) in input that may arrive
/// split at any byte, enforcing the head limits as it goes so that nothing over a limit is buffered.
///
/// Line ends: CRLF, and a lone LF is tolerated as well (RFC 9112 §2.2 allows a recipient to accept it;
/// curl/netcat users type it). A CR that is not followed by LF is rejected. Empty lines before the
/// start line are skipped (RFC 9112 §2.2: clients may send a stray CRLF after a body); they count
/// toward `maxHeadBytes`.
struct MessageHeadScanner {
    /// Bytes of this head seen so far.
    private(set) var byteCount = 0
    /// Bytes in the current line, not counting CR and LF.
    private var lineLength = 0
    private var sawCR = false
    /// Completed non-empty lines (the start line and each field line).
    private var lineCount = 0
    /// Spaces seen in the start line; the target is what lies between the first and the second.
    private var startLineSpaces = 0
    private var targetLength = 0
    /// Request heads bound their target (414); response heads have none.
    private let measuresTarget: Bool

    init(measuresTarget: Bool) { self.measuresTarget = measuresTarget }

    /// Scans from `start`; returns the index just past the head's final LF, or nil when all input was
    /// consumed without completing the head.
    mutating func scan(_ input: UnsafeRawBufferPointer, from start: Int, limits: HTTPLimits) throws(HTTPParseError) -> Int? {
        var i = start
        while i < input.count {
            let b = input[i]
            i += 1
            byteCount += 1
            if sawCR && b != ASCII.lf { throw .bareCR }
            if b == ASCII.lf {
                sawCR = false
                if lineLength == 0 {
                    if lineCount > 0 { return i }
                } else {
                    lineCount += 1
                    lineLength = 0
                    if lineCount - 1 > limits.maxHeaderCount { throw .tooManyHeaders }
                }
            } else if b == ASCII.cr {
                sawCR = true
            } else {
                lineLength += 1
                if lineCount == 0 && measuresTarget {
                    if b == ASCII.space {
                        startLineSpaces += 1
                    } else if startLineSpaces == 1 {
                        targetLength += 1
                        if targetLength > limits.maxURILength { throw .uriTooLong }
                    }
                }
            }
            if byteCount > limits.maxHeadBytes { throw .headTooLarge }
        }
        return nil
    }
}
