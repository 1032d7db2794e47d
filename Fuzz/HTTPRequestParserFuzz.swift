// libFuzzer target: the HTTP request parser must never trap, and must give the same requests and
// the same error whether the input arrives whole or split in two at a fuzzer-chosen position.
// Built and run by scripts/fuzz.sh (not part of `swift build`).

private func transcript(_ input: UnsafeRawBufferPointer, split: Int) -> [String] {
    var parser = HTTPRequestParser()
    var out: [String] = []
    var chunks = [UnsafeRawBufferPointer(rebasing: input[..<split]), UnsafeRawBufferPointer(rebasing: input[split...])]
    while !chunks.isEmpty {
        var chunk = chunks.removeFirst()
        while true {
            do throws(HTTPParseError) {
                let (consumed, request) = try parser.parse(chunk)
                chunk = UnsafeRawBufferPointer(rebasing: chunk[consumed...])
                guard let request else { break }
                out.append("\(request.method) \(request.target) \(request.headers.count) \(request.body)")
            } catch {
                out.append("error \(error.status)")
                return out
            }
        }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let split = Int(data[0]) % (input.count + 1)
    let whole = transcript(input, split: input.count)
    let parts = transcript(input, split: split)
    if whole != parts { fatalError("split at \(split) changed the result: \(whole) vs \(parts)") }
    return 0
}
