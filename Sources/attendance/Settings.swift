import Foundation

/// Resolves a setting the way PROTOCOL.md orders it: command-line flag, then `ATTENDANCE_*`
/// environment variable, then the config file (Config/attendance.conf, `key = value` lines), then
/// the built-in default.
struct Settings {
    let file: [String: String]
    let environment: [String: String]
    let path: String?

    init(configPath: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        let candidate = configPath ?? environment["ATTENDANCE_CONFIG"] ?? "Config/attendance.conf"
        if FileManager.default.fileExists(atPath: candidate) {
            let text = try String(contentsOfFile: candidate, encoding: .utf8)
            file = try Settings.parse(text, path: candidate)
            path = candidate
        } else if configPath != nil {
            throw SettingsError("config file \(candidate) not found")
        } else {
            file = [:]
            path = nil
        }
    }

    static func parse(_ text: String, path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw SettingsError("\(path):\(number + 1): expected `key = value`")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            values[key] = value
        }
        return values
    }

    /// `flag` wins, then the environment variable, then the file key, then `fallback`.
    func value(flag: String?, env: String, key: String, default fallback: String? = nil) -> String? {
        if let flag { return flag }
        if let v = environment[env], !v.isEmpty { return v }
        if let v = file[key], !v.isEmpty { return v }
        return fallback
    }

    /// Where `value(flag:env:key:)` would find a setting: 3 flag, 2 environment, 1 config file, 0 nowhere
    /// (for two settings that exclude each other: the more specific source wins).
    func level(flag: String?, env: String, key: String) -> Int {
        if flag != nil { return 3 }
        if let v = environment[env], !v.isEmpty { return 2 }
        if let v = file[key], !v.isEmpty { return 1 }
        return 0
    }

    /// `value(flag:env:key:default:)` read as an integer; nil when the winning text is not one (the
    /// caller says which range it wanted).
    func integer(flag: Int?, env: String, key: String, default fallback: Int) -> Int? {
        Int(value(flag: flag.map(String.init), env: env, key: key, default: String(fallback))!)
    }
}

struct SettingsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The fixed development secrets PROTOCOL.md names; refused unless `--dev` is given. They are
/// shorter than `Secrets.minimumBytes` and exempt from it: they are published, so no length would
/// make them secret, and tests and load tools outside the project sign with them.
enum DevSecrets {
    static let jwt = "dev-secret-change-me"
    static let qr = "dev-qr-key-change-me"
}

/// Parses and checks the configured secrets.
enum Secrets {
    /// HMAC-SHA256 keys shorter than this are guessable offline from one token or QR code; 32 bytes
    /// is the hash's own size (RFC 7518 §3.2 requires at least that for HS256).
    static let minimumBytes = 32

    /// The access-token keys of `ATTENDANCE_JWT_SECRET`: one secret (key id `k1`), or
    /// `kid=secret,kid=secret` with the signing key first. Every key must be `minimumBytes` long,
    /// except the development value under `--dev`.
    static func jwtKeys(_ spec: String, dev: Bool) throws -> (keys: [String: [UInt8]], current: String) {
        guard spec.contains("=") else {
            try check(spec, name: "ATTENDANCE_JWT_SECRET", dev: dev, devValue: DevSecrets.jwt)
            return (["k1": Array(spec.utf8)], "k1")
        }
        var keys: [String: [UInt8]] = [:]
        var current = ""
        for pair in spec.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw SettingsError("ATTENDANCE_JWT_SECRET: expected `kid=secret[,kid=secret…]`")
            }
            let kid = String(parts[0])
            guard keys[kid] == nil else { throw SettingsError("ATTENDANCE_JWT_SECRET: key id '\(kid)' is listed twice") }
            try check(String(parts[1]), name: "ATTENDANCE_JWT_SECRET key '\(kid)'", dev: dev, devValue: DevSecrets.jwt)
            keys[kid] = Array(parts[1].utf8)
            if current.isEmpty { current = kid }
        }
        return (keys, current)
    }

    static func qrKey(_ value: String, dev: Bool) throws -> [UInt8] {
        try check(value, name: "ATTENDANCE_QR_KEY", dev: dev, devValue: DevSecrets.qr)
        return Array(value.utf8)
    }

    /// Names the secret and its length, never its value.
    private static func check(_ secret: String, name: String, dev: Bool, devValue: String) throws {
        if dev && secret == devValue { return }
        let length = secret.utf8.count
        guard length >= minimumBytes else {
            throw SettingsError("\(name) is \(length) bytes; secrets must be at least \(minimumBytes) bytes "
                                + "(for example `openssl rand -base64 32`)")
        }
    }
}
