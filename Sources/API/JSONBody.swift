import Attendance
import JSON

/// A request body that must be one JSON object, read field by field. Every failure names the field
/// and what was expected, so a client author can fix the request from the message alone. `null` is
/// read as "absent" for optional fields.
struct JSONBody {
    let object: JSONObject

    init(_ bytes: [UInt8]) throws(APIError) {
        guard !bytes.isEmpty else { throw .invalidJSON("the body is empty; expected a JSON object") }
        let value: JSONValue
        do {
            value = try JSON.parse(bytes)
        } catch {
            throw .invalidJSON(error.description)
        }
        guard let object = value.object else { throw .badRequest("The request body must be a JSON object") }
        self.object = object
    }

    /// Refuses fields the endpoint does not know, so a misspelt option (`late_after`) is reported
    /// instead of silently ignored.
    func allowOnly(_ keys: Set<String>) throws(APIError) {
        for key in object.keys where !keys.contains(key) {
            let known = keys.sorted().joined(separator: ", ")
            throw .badRequest("Unknown field '\(Self.clip(key))'; allowed: \(known)")
        }
    }

    func has(_ key: String) -> Bool {
        if let value = object[key], !value.isNull { return true }
        return false
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let text = value.string else { throw .badRequest("\(key) must be a string") }
        return text
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let text = try string(key) else { throw .badRequest("\(key) is required") }
        return text
    }

    /// An identifier (`student_id`, …): 1–64 characters of `[A-Za-z0-9_.:-]`.
    func requiredIdentifier(_ key: String) throws(APIError) -> String {
        let text = try requiredString(key)
        guard Identifier.isValid(text) else { throw Self.invalidIdentifier(key) }
        return text
    }

    func int(_ key: String) throws(APIError) -> Int? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.int, let result = Int(exactly: number) else {
            throw .badRequest("\(key) must be an integer")
        }
        return result
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let flag = value.bool else { throw .badRequest("\(key) must be true or false") }
        return flag
    }

    /// One of an enumeration's raw values (`device_policy`, `join_requires`, `enrol_unknown`).
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(APIError) -> T? where T.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let value = T(rawValue: text) else {
            throw .badRequest("\(key) must be \(T.allCases.map(\.rawValue).joined(separator: " or "))")
        }
        return value
    }

    func identifierArray(_ key: String) throws(APIError) -> [String]? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let items = value.array else { throw .badRequest("\(key) must be an array of strings") }
        var result: [String] = []
        result.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let text = item.string else { throw .badRequest("\(key)[\(index)] must be a string") }
            guard Identifier.isValid(text) else { throw Self.invalidIdentifier("\(key)[\(index)]") }
            result.append(text)
        }
        return result
    }

    /// An array of at most `limit` networks (`10.1.0.0/16`, `2001:db8::/48`).
    func networkArray(_ key: String, limit: Int) throws(APIError) -> [CIDR]? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let items = value.array else { throw .badRequest("\(key) must be an array of strings") }
        guard items.count <= limit else { throw .badRequest("\(key) may list at most \(limit) networks") }
        var result: [CIDR] = []
        for (index, item) in items.enumerated() {
            guard let text = item.string else { throw .badRequest("\(key)[\(index)] must be a string") }
            guard let network = CIDR(text) else {
                throw .badRequest("\(key)[\(index)] '\(Self.clip(text))' is not an IPv4 or IPv6 network (like 10.1.0.0/16 or 2001:db8::/48)")
            }
            result.append(network)
        }
        return result
    }

    func status(_ key: String) throws(APIError) -> AttendanceStatus {
        let text = try requiredString(key)
        guard let status = AttendanceStatus(rawValue: text) else {
            let names = AttendanceStatus.allCases.map(\.rawValue).joined(separator: ", ")
            throw .badRequest("\(key) must be one of \(names); got '\(Self.clip(text))'")
        }
        return status
    }

    static func invalidIdentifier(_ field: String) -> APIError {
        .badRequest("\(field) must be 1–\(Identifier.maxLength) characters of A-Z a-z 0-9 _ . : -")
    }

    /// Echoed input is shortened so an error never grows with a hostile body.
    static func clip(_ text: String) -> String {
        text.count > 64 ? String(text.prefix(64)) + "…" : text
    }

    /// `device_sig` with its `client_time_ms` (both or neither), or nil; `offline: true` needs them.
    func deviceSignature() throws(APIError) -> DeviceSignature? {
        let text = try string("device_sig")
        let time = try int("client_time_ms").map(Int64.init)
        let offline = try bool("offline") ?? false
        switch (text, time) {
        case (nil, nil):
            if offline { throw .badRequest("offline needs device_sig and client_time_ms") }
            return nil
        case (let text?, let time?):
            guard let signature = DeviceKey.decodeSignature(text) else {
                throw .badRequest("device_sig must be the 64-byte r‖s signature in base64url (86 characters)")
            }
            guard time >= 0 else { throw .badRequest("client_time_ms must be a non-negative integer") }
            return DeviceSignature(signature: signature, clientTimeMs: time, offline: offline)
        default: throw .badRequest("device_sig and client_time_ms go together")
        }
    }
}
