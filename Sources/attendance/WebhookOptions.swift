import API
import ArgumentParser
import Foundation

/// The api's absence-webhook settings (docs/SCHOOL-SYSTEMS.md).
struct WebhookOptions: ParsableArguments {
    @Option(help: "Absence webhook receivers, comma-separated https:// URLs (http:// only to a loopback host) (env ATTENDANCE_WEBHOOK_URL, config `webhook_url`; default none). The signing secret is ATTENDANCE_WEBHOOK_SECRET (config `webhook_secret`).")
    var webhookUrl: String?

    @Option(help: "PEM file of CAs trusted for webhook receivers' HTTPS instead of the system store (env ATTENDANCE_WEBHOOK_CA_FILE, config `webhook_ca_file`).")
    var webhookCaFile: String?

    @Option(help: "Milliseconds a receiver has to answer one webhook request (env ATTENDANCE_WEBHOOK_TIMEOUT_MS; default 10000).")
    var webhookTimeoutMs: Int?

    @Option(help: "Wait before the first retry of a failed webhook, doubling after each (env ATTENDANCE_WEBHOOK_FIRST_RETRY_MS; default 2000).")
    var webhookFirstRetryMs: Int?

    @Option(help: "Seconds after which an undelivered webhook is given up and listed as failed (env ATTENDANCE_WEBHOOK_RETRY_WINDOW_S; default 1800).")
    var webhookRetryWindowS: Int?

    @Option(help: "Milliseconds a webhook stays pending under a stopped api before another takes it over (env ATTENDANCE_WEBHOOK_CLAIM_IDLE_MS; default 60000; must exceed the timeout).")
    var webhookClaimIdleMs: Int?

    static let devSecret = "dev-webhook-secret-change-me"

    func settings(_ settings: Settings, dev: Bool) throws -> WebhookSettings {
        var result = WebhookSettings()
        let urls = settings.value(flag: webhookUrl, env: "ATTENDANCE_WEBHOOK_URL", key: "webhook_url") ?? ""
        result.urls = urls.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard result.urls.count <= 16 else { throw ValidationError("at most 16 webhook URLs") }
        func number(_ flag: Int?, _ name: String, _ range: ClosedRange<Int>, _ fallback: Int) throws -> Int {
            guard let value = settings.integer(flag: flag, env: "ATTENDANCE_\(name.uppercased())", key: name, default: fallback),
                  range.contains(value) else { throw ValidationError("\(name) must be \(range.lowerBound)-\(range.upperBound)") }
            return value
        }
        result.timeoutMs = UInt64(try number(webhookTimeoutMs, "webhook_timeout_ms", 100...120_000, Int(result.timeoutMs)))
        result.firstRetryMs = Int64(try number(webhookFirstRetryMs, "webhook_first_retry_ms", 10...600_000, Int(result.firstRetryMs)))
        result.retryWindowMs = Int64(try number(webhookRetryWindowS, "webhook_retry_window_s", 1...86_400, Int(result.retryWindowMs / 1000))) * 1000
        result.claimIdleMs = Int64(try number(webhookClaimIdleMs, "webhook_claim_idle_ms", 200...3_600_000, Int(result.claimIdleMs)))
        guard result.claimIdleMs > Int64(result.timeoutMs) else {
            throw ValidationError("--webhook-claim-idle-ms must exceed --webhook-timeout-ms, or deliveries in progress would be repeated")
        }
        guard !result.urls.isEmpty else { return result }
        let secret = settings.value(flag: nil, env: "ATTENDANCE_WEBHOOK_SECRET", key: "webhook_secret") ?? (dev ? Self.devSecret : nil)
        guard let secret else { throw ValidationError("webhook URLs need ATTENDANCE_WEBHOOK_SECRET (or --dev for the development secret)") }
        guard secret.utf8.count >= 32 || (dev && secret == Self.devSecret) else {
            throw ValidationError("ATTENDANCE_WEBHOOK_SECRET is \(secret.utf8.count) bytes; secrets must be at least 32 bytes")
        }
        result.secret = Array(secret.utf8)
        // The api checks the URLs and that the CA file loads when it starts (`startSchoolWork`).
        result.caFile = settings.value(flag: webhookCaFile, env: "ATTENDANCE_WEBHOOK_CA_FILE", key: "webhook_ca_file")
        return result
    }
}
