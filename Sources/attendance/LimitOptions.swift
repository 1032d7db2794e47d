import ArgumentParser
import Foundation
import Attendance
import Logging

/// The failure limit, shared by `hub` and `api` (both count into the same Redis keys, so give both
/// the same values). Top-level config keys and `ATTENDANCE_*` variables for that reason.
struct FailureLimitOptions: ParsableArguments {
    @Option(help: "Failed joins/check-ins (wrong codes, bad or expired QR and link tokens, students not on the roster) one address (IPv6: its /64) may make per window before it gets 429 (env ATTENDANCE_FAILURE_LIMIT_PER_ADDRESS, config `failure_limit_per_address`; default 10).")
    var failureLimitPerAddress: Int?

    @Option(help: "The window of the failure limit in seconds (env ATTENDANCE_FAILURE_WINDOW_S, config `failure_window_s`; default 60).")
    var failureWindowS: Int?

    @Option(help: "Networks check-ins must come from in classes that set no allowed_networks, comma-separated CIDRs (env ATTENDANCE_ALLOWED_NETWORKS, config `allowed_networks`; default: anywhere).")
    var allowedNetworks: String?

    func storeLimits(_ settings: Settings) throws -> StoreLimits {
        var limits = StoreLimits()
        limits.failuresPerAddress = try positive(settings, flag: failureLimitPerAddress, name: "failure_limit_per_address",
                                                 default: limits.failuresPerAddress ?? 10)
        limits.failureWindowS = try positive(settings, flag: failureWindowS, name: "failure_window_s", default: limits.failureWindowS)
        limits.allowedNetworks = try networks(settings, flag: allowedNetworks, name: "allowed_networks")
        return limits
    }
}

/// A positive integer setting: flag, `ATTENDANCE_<NAME>`, config key `<prefix><name>`, default.
func positive(_ settings: Settings, flag: Int?, name: String, prefix: String = "", default fallback: Int) throws -> Int {
    let env = "ATTENDANCE_" + (prefix + name).replacingOccurrences(of: ".", with: "_").uppercased()
    guard let value = settings.integer(flag: flag, env: env, key: prefix + name, default: fallback), value >= 1 else {
        throw ValidationError("\(prefix + name) must be a positive integer")
    }
    return value
}

/// A comma-separated CIDR list setting: flag, `ATTENDANCE_<NAME>`, config key `<prefix><name>`; empty by default.
func networks(_ settings: Settings, flag: String?, name: String, prefix: String = "") throws -> [CIDR] {
    let env = "ATTENDANCE_" + (prefix + name).replacingOccurrences(of: ".", with: "_").uppercased()
    guard let text = settings.value(flag: flag, env: env, key: prefix + name) else { return [] }
    switch CIDR.parseList(text) {
    case .success(let networks): return networks
    case .failure(let error): throw ValidationError("\(prefix + name): \(error)")
    }
}
