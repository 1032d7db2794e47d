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

/// The fixed development secrets PROTOCOL.md names; refused unless `--dev` is given.
enum DevSecrets {
    static let jwt = "dev-secret-change-me"
    static let qr = "dev-qr-key-change-me"
}
