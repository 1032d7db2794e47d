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
            // memcmp, not `elementsEqual`: the generic comparison was 9 % of a ping's instructions.
            func matches(_ name: StaticString) -> Bool {
                bytes.count == name.utf8CodeUnitCount && memcmp(bytes.baseAddress!, name.utf8Start, bytes.count) == 0
            }
            if bytes.isEmpty { self = .other("") }
            else if matches("ping") { self = .ping }
            else if matches("subscribe") { self = .subscribe }
            else if matches("unsubscribe") { self = .unsubscribe }
            else if matches("checkin") { self = .checkin }
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

    /// Parses into `message`, which must be fresh, and returns the error to answer with (and the id,
    /// if one was readable), or nil. In place: handing a message of eight optional strings back in
    /// an enum copied and destroyed it twice per message, a fifth of a ping's instructions.
    static func parse(_ bytes: UnsafeRawBufferPointer, into message: inout ClientMessage) -> (error: AttendanceError, id: String?)? {
        if scanFlat(bytes, into: &message) { return nil }
        message = ClientMessage()
        switch parseGeneral(bytes) {
        case .message(let parsed):
            message = parsed
            return nil
        case .invalid(let error, let id):
            return (error, id)
        }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Parsed {
        var message = ClientMessage()
        if let (error, id) = parse(bytes, into: &message) { return .invalid(error, id: id) }
        return .message(message)
    }

    static func scanFlat(_ bytes: UnsafeRawBufferPointer) -> ClientMessage? {
        var message = ClientMessage()
        return scanFlat(bytes, into: &message) ? message : nil
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

    // MARK: the fast paths

    /// A keep-alive exactly as clients write it, `{"type":"ping"}` or `{"type":"ping","id":"<id>"}`
    /// with an id of identifier characters: the id token as sent (quotes included; empty when there
    /// is none), or nil for anything else, which `parse` then handles. Answering it needs no message:
    /// this skips the scan, the strings and their release, 30 % of a ping's instructions.
    static func plainPing(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let head: StaticString = #"{"type":"ping""#
        let idKey: StaticString = #","id":""#
        let n = b.count, h = head.utf8CodeUnitCount, k = idKey.utf8CodeUnitCount
        guard n > h, memcmp(b.baseAddress!, head.utf8Start, h) == 0, b[n - 1] == UInt8(ascii: "}") else { return nil }
        if n == h + 1 { return UnsafeRawBufferPointer(start: b.baseAddress!, count: 0) }
        guard n >= h + k + 2, memcmp(b.baseAddress! + h, idKey.utf8Start, k) == 0, b[n - 2] == UInt8(ascii: "\"") else { return nil }
        for i in (h + k)..<(n - 2) where !Identifier.isAllowed(b[i]) { return nil }
        return UnsafeRawBufferPointer(rebasing: b[(h + k - 1)..<(n - 1)])
    }

    /// One pass over a flat object whose values are unescaped strings, numbers, booleans or null —
    /// every message a real client sends — without building a JSON tree. Returns false for anything
    /// else (including anything invalid), which then goes through `parseGeneral` for its error.
    static func scanFlat(_ b: UnsafeRawBufferPointer, into message: inout ClientMessage) -> Bool {
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

        var sawType = false
        skipSpace()
        guard i < n, b[i] == UInt8(ascii: "{") else { return false }
        i += 1
        skipSpace()
        if i < n, b[i] == UInt8(ascii: "}") { return false }
        while true {
            skipSpace()
            guard let k = string() else { return false }
            skipSpace()
            guard i < n, b[i] == UInt8(ascii: ":") else { return false }
            i += 1
            skipSpace()
            let valueStart = i
            let s = string()
            let token: Range<Int>
            if s != nil { token = valueStart..<i } else { guard let t = scalar() else { return false }; token = t }
            let isNull = s == nil && b[token.lowerBound] == UInt8(ascii: "n")
            if key(k, is: "type") {
                guard let s else { return false }
                message.type = Kind(bytes: UnsafeRawBufferPointer(rebasing: b[s]))
                sawType = true
            } else if key(k, is: "id") {
                // Strings and numbers are echoed; true/false would be a bad id (general path explains).
                if isNull { message.id = nil } else {
                    guard s != nil || b[token.lowerBound] == UInt8(ascii: "-") || (b[token.lowerBound] >= 0x30 && b[token.lowerBound] <= 0x39) else { return false }
                    message.id = text(token)
                }
            } else if key(k, is: "class_id") || key(k, is: "qr") || key(k, is: "code") || key(k, is: "since") {
                let value: String?
                if isNull { value = nil } else { guard let s else { return false }; value = text(s) }
                if key(k, is: "class_id") { message.classId = value } else if key(k, is: "qr") { message.qr = value }
                else if key(k, is: "code") { message.code = value } else { message.since = value }
            } else if key(k, is: "receipt") {
                if isNull { message.receipt = nil } else { guard let s else { return false }; message.receipt = text(s) }
            } else if key(k, is: "offline") {
                // Only true, false or null; anything else takes the general path for its error.
                guard s == nil, b[token.lowerBound] != UInt8(ascii: "-"), !(b[token.lowerBound] >= 0x30 && b[token.lowerBound] <= 0x39)
                else { return false }
                message.offline = b[token.lowerBound] == UInt8(ascii: "t")
            } else if key(k, is: "device_sig") {
                if isNull { message.deviceSig = nil } else { guard let s else { return false }; message.deviceSig = text(s) }
            } else if key(k, is: "client_time_ms") {
                // Only a plain number; anything else takes the general path for its error.
                if isNull { message.clientTimeMs = nil } else { guard s == nil else { return false }; message.clientTimeMs = text(token) }
            }
            skipSpace()
            guard i < n else { return false }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            guard b[i] == UInt8(ascii: "}") else { return false }
            i += 1
            skipSpace()
            guard i == n, sawType else { return false }
            return true
        }
    }
}
