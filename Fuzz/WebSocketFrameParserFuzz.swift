// libFuzzer target: the WebSocket frame parser (server role) must never trap, and must give the same
// events and the same close code whether the input arrives whole or split at a fuzzer-chosen position.
// Built and run by scripts/fuzz.sh (not part of `swift build`).

private func transcript(_ input: UnsafeRawBufferPointer, split: Int, scratch: WebSocketScratch) -> [String] {
    var parser = WebSocketFrameParser(role: .server, maxMessageSize: 4096)
    var out: [String] = []
    for part in [UnsafeRawBufferPointer(rebasing: input[..<split]), UnsafeRawBufferPointer(rebasing: input[split...])] {
        var chunk = part
        while true {
            do throws(WebSocketError) {
                guard let event = try parser.next(&chunk, scratch: scratch) else { break }
                switch event {
                case .text(let b): out.append("text \(Array(b))")
                case .binary(let b): out.append("binary \(Array(b))")
                case .ping(let b): out.append("ping \(Array(b))")
                case .pong: out.append("pong")
                case .close(let code, let reason): out.append("close \(String(describing: code)) \(reason)"); return out
                }
            } catch {
                out.append("error \(error.closeCode)")
                return out
            }
        }
    }
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 1 else { return 0 }
    let input = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let split = Int(data[0]) % (input.count + 1)
    let scratch = WebSocketScratch()
    let whole = transcript(input, split: input.count, scratch: scratch)
    let parts = transcript(input, split: split, scratch: scratch)
    if whole != parts { fatalError("split at \(split) changed the result: \(whole) vs \(parts)") }
    return 0
}
