import Glibc

/// Why a run could not go on or its output could not be written; ArgumentParser prints the message
/// once and the process exits non-zero.
struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Writes `bytes` to `path`, replacing the file.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard let file = fopen(path, "wb") else {
        throw LoadError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    let closed = fclose(file)
    guard written == bytes.count, closed == 0 else {
        throw LoadError("cannot write \(path): \(String(cString: strerror(errno)))")
    }
}

/// Reads a small text file (e.g. /proc/PID/status); nil if it cannot be opened.
func readSmallFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The resident set size of a process in KiB (VmRSS of /proc/PID/status); nil if it cannot be read.
func residentKiB(pid: Int32, field: String = "VmRSS:") -> Int? {
    guard let status = readSmallFile("/proc/\(pid)/status") else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(field) {
        return Int(line.dropFirst(field.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
    }
    return nil
}
