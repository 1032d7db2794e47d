/// What Content-Length and Transfer-Encoding say about a message's body, read once from the headers.
struct BodyFraming {
    /// The agreed Content-Length, if any field carried one.
    var contentLength: Int?
    var hasTransferEncoding = false
    /// How often "chunked" appears among the transfer codings, and whether it is the last one.
    var chunkedCount = 0
    var chunkedIsLast = false
    /// A coding other than "chunked" appeared (gzip, compress, …).
    var hasOtherCoding = false

    init(_ headers: HTTPHeaders) throws(HTTPParseError) {
        for field in headers {
            if ASCII.equalsIgnoringCase(field.name, "content-length") {
                // "5, 5" (a list of identical values) is accepted, as RFC 9110 §8.6 allows.
                for element in field.value.utf8.split(separator: ASCII.comma, omittingEmptySubsequences: false) {
                    let value = try Self.parseLength(ASCII.trimmingWhitespace(element))
                    if let contentLength, contentLength != value { throw .badContentLength }
                    contentLength = value
                }
            } else if ASCII.equalsIgnoringCase(field.name, "transfer-encoding") {
                hasTransferEncoding = true
                for element in field.value.utf8.split(separator: ASCII.comma) {
                    let coding = ASCII.trimmingWhitespace(element)
                    if coding.isEmpty { continue }
                    if ASCII.equalsIgnoringCase(coding, "chunked".utf8) {
                        chunkedCount += 1
                        chunkedIsLast = true
                    } else {
                        hasOtherCoding = true
                        chunkedIsLast = false
                    }
                }
            }
        }
    }

    /// 1*DIGIT with overflow detection; a sign, spaces or hex are errors.
    private static func parseLength(_ digits: Substring.UTF8View) throws(HTTPParseError) -> Int {
        guard !digits.isEmpty else { throw .badContentLength }
        var value = 0
        for b in digits {
            guard ASCII.isDigit(b) else { throw .badContentLength }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(b &- UInt8(ascii: "0")))
            if o1 || o2 { throw .badContentLength }
            value = sum
        }
        return value
    }
}
