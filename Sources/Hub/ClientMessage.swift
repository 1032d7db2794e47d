import Attendance
import Glibc
import JSON

/// A client → hub message (PROTOCOL.md): `type`, the optional `id` echoed in the reply (kept as its
/// raw JSON token), and the fields the types use.
struct ClientMessage {
    enum Kind: Equatable {
        case ping, subscribe, unsubscribe, checkin
        case other(String)

        init(_ name: String) {
            switch name {
            case "ping": self = .ping
            case "subscribe": self = .subscribe
            case "unsubscribe": self = .unsubscribe
            case "checkin": self = .checkin
            default: self = .other(name)
            }
        }

        /// From the raw bytes of the `type` string, without making a String for the known kinds.
        init(bytes: UnsafeRawBufferPointer) {
            if bytes.elementsEqual("ping".utf8) { self = .ping }
            else if bytes.elementsEqual("subscribe".utf8) { self = .subscribe }
            else if bytes.elementsEqual("unsubscribe".utf8) { self = .unsubscribe }
            else if bytes.elementsEqual("checkin".utf8) { self = .checkin }
            else { self = .other(String(decoding: bytes, as: UTF8.self)) }
        }
    }

    var type = Kind.other("")
    /// The `id` exactly as the client wrote it (`"3"` or `3`), spliced into the reply as is.
    var id: String?
    var classId: String?
    var qr: String?
    /// A scan receipt in place of `qr`.
    var receipt: String?
    var code: String?
    var since: String?
    /// A check-in's `device_sig` and `client_time_ms` (the number's text), checked by the session.
    var deviceSig: String?
    var clientTimeMs: String?
    /// `offline: true` on a signed check-in (PROTOCOL.md "Offline check-ins").
    var offline = false

    /// Either the message, or the error to answer with (and the id, if one was readable).
    enum Parsed {
        case message(ClientMessage)
        case invalid(AttendanceError, id: String?)
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Parsed {
        if let message = scanFlat(bytes) { return .message(message) }
        return parseGeneral(bytes)
    }

    // MARK: the general path

    /// Any valid JSON: nested values, escapes, odd types. Slower, allocates, and explains errors.
    static func parseGeneral(_ bytes: UnsafeRawBufferPointer) -> Parsed {
        guard let value = try? JSON.parse(bytes) else { return .invalid(.invalidJSON, id: nil) }
        guard case .object = value else {
            return .invalid(.badRequest("a message is a JSON object with a string \"type\""), id: nil)
        }
        var message = ClientMessage()
        if let id = value["id"], !id.isNull {
            guard id.string != nil || id.int != nil || id.double != nil else {
                return .invalid(.badRequest("\"id\" must be a string or a number"), id: nil)
            }
            message.id = String(decoding: id.serialized(), as: UTF8.self)
        }
        guard let type = value["type"]?.string else {
            return .invalid(.badRequest("a message is a JSON object with a string \"type\""), id: message.id)
        }
        message.type = Kind(type)
        for (key, field) in [("class_id", \ClientMessage.classId), ("qr", \.qr), ("receipt", \.receipt), ("code", \.code),
                             ("since", \.since)] {
            guard let v = value[key], !v.isNull else { continue }
            guard let s = v.string else { return .invalid(.badRequest("\"\(key)\" must be a string"), id: message.id) }
            message[keyPath: field] = s
        }
        if let v = value["device_sig"], !v.isNull {
            guard let s = v.string else { return .invalid(.badRequest("\"device_sig\" must be a string"), id: message.id) }
            message.deviceSig = s
        }
        if let v = value["offline"], !v.isNull {
            guard let flag = v.bool else { return .invalid(.badRequest("\"offline\" must be true or false"), id: message.id) }
            message.offline = flag
        }
        if let v = value["client_time_ms"], !v.isNull {
            guard let t = v.int else { return .invalid(.badRequest("\"client_time_ms\" must be an integer"), id: message.id) }
            message.clientTimeMs = String(t)
        }
        return .message(message)
    }

    // MARK: the fast path

    /// One pass over a flat object whose values are unescaped strings, numbers, booleans or null —
    /// every message a real client sends — without building a JSON tree. Returns nil for anything
    /// else (including anything invalid), which then goes through `parseGeneral` for its error.
    static func scanFlat(_ b: UnsafeRawBufferPointer) -> ClientMessage? {
        var i = 0
        let n = b.count
        @inline(__always) func skipSpace() {
            while i < n, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }
        /// A string without escapes or control characters: the range of its contents.
        @inline(__always) func string() -> Range<Int>? {
            guard i < n, b[i] == UInt8(ascii: "\"") else { return nil }
            let start = i + 1
            var j = start
            while j < n {
                let c = b[j]
                if c == UInt8(ascii: "\"") { i = j + 1; return start..<j }
                if c == UInt8(ascii: "\\") || c < 0x20 { return nil }
                j += 1
            }
            return nil
        }
        /// A scalar that is not a string: the range of its token (strict JSON number grammar).
        func scalar() -> Range<Int>? {
            let start = i
            for literal in ["true", "false", "null"] where b.count - i >= literal.utf8.count {
                if literal.utf8.elementsEqual(UnsafeRawBufferPointer(rebasing: b[i..<(i + literal.utf8.count)])) {
                    i += literal.utf8.count
                    return start..<i
                }
            }
            @inline(__always) func digits() -> Bool {
                let s = i
                while i < n, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
                return i > s
            }
            if i < n, b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < n else { return nil }
            if b[i] == 0x30 { i += 1 } else { guard b[i] >= 0x31, b[i] <= 0x39, digits() else { return nil } }
            if i < n, b[i] == UInt8(ascii: ".") { i += 1; guard digits() else { return nil } }
            if i < n, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() else { return nil }
            }
            return start..<i
        }
        func text(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: b[r]), as: UTF8.self) }
        func key(_ r: Range<Int>, is name: StaticString) -> Bool {
            r.count == name.utf8CodeUnitCount && memcmp(b.baseAddress! + r.lowerBound, name.utf8Start, r.count) == 0
        }

        var message = ClientMessage()
        var sawType = false
        skipSpace()
        guard i < n, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        skipSpace()
        if i < n, b[i] == UInt8(ascii: "}") { return nil }
        while true {
            skipSpace()
            guard let k = string() else { return nil }
            skipSpace()
            guard i < n, b[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace()
            let valueStart = i
            let s = string()
            let token: Range<Int>
            if s != nil { token = valueStart..<i } else { guard let t = scalar() else { return nil }; token = t }
            let isNull = s == nil && b[token.lowerBound] == UInt8(ascii: "n")
            if key(k, is: "type") {
                guard let s else { return nil }
                message.type = Kind(bytes: UnsafeRawBufferPointer(rebasing: b[s]))
                sawType = true
            } else if key(k, is: "id") {
                // Strings and numbers are echoed; true/false would be a bad id (general path explains).
                if isNull { message.id = nil } else {
                    guard s != nil || b[token.lowerBound] == UInt8(ascii: "-") || (b[token.lowerBound] >= 0x30 && b[token.lowerBound] <= 0x39) else { return nil }
                    message.id = text(token)
                }
            } else if key(k, is: "class_id") || key(k, is: "qr") || key(k, is: "code") || key(k, is: "since") {
                let value: String?
                if isNull { value = nil } else { guard let s else { return nil }; value = text(s) }
                if key(k, is: "class_id") { message.classId = value } else if key(k, is: "qr") { message.qr = value }
                else if key(k, is: "code") { message.code = value } else { message.since = value }
            } else if key(k, is: "receipt") {
                if isNull { message.receipt = nil } else { guard let s else { return nil }; message.receipt = text(s) }
            } else if key(k, is: "offline") {
                // Only true, false or null; anything else takes the general path for its error.
                guard s == nil, b[token.lowerBound] != UInt8(ascii: "-"), !(b[token.lowerBound] >= 0x30 && b[token.lowerBound] <= 0x39)
                else { return nil }
                message.offline = b[token.lowerBound] == UInt8(ascii: "t")
            } else if key(k, is: "device_sig") {
                if isNull { message.deviceSig = nil } else { guard let s else { return nil }; message.deviceSig = text(s) }
            } else if key(k, is: "client_time_ms") {
                // Only a plain number; anything else takes the general path for its error.
                if isNull { message.clientTimeMs = nil } else { guard s == nil else { return nil }; message.clientTimeMs = text(token) }
            }
            skipSpace()
            guard i < n else { return nil }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            guard b[i] == UInt8(ascii: "}") else { return nil }
            i += 1
            skipSpace()
            guard i == n, sawType else { return nil }
            return message
        }
    }
}
