import API
import ArgumentParser
import Logging

struct APICommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Run the REST sidecar (/v1, /healthz, /metrics, web pages).")

    @Option(help: "Listen address (env ATTENDANCE_API_LISTEN, config `api.listen`; default 127.0.0.1:8081).")
    var listen: String?

    @Option(help: "Base URL students reach this server at, for join links and QR codes (env ATTENDANCE_API_PUBLIC_URL, config `api.public_url`; default http://<listen>).")
    var publicUrl: String?

    @Option(help: "Hub WebSocket URL the dashboard connects to (env ATTENDANCE_API_HUB_URL, config `api.hub_url`; default ws://127.0.0.1:8080/ws).")
    var hubUrl: String?

    @Option(help: "Students a class without a roster admits (env ATTENDANCE_API_CLASS_SIZE_LIMIT, config `api.class_size_limit`; default 2000).")
    var classSizeLimit: Int?

    @Option(help: "Classes one teacher may create per minute (env ATTENDANCE_API_CLASS_CREATIONS_PER_TEACHER, config `api.class_creations_per_teacher`; default 30).")
    var classCreationsPerTeacher: Int?

    @Option(help: "Deprecated and ignored: successful joins are no longer limited (see --failure-limit-per-address).")
    var joinLimitPerAddress: Int?

    @Option(help: "Deprecated and ignored: successful joins are no longer limited (see --class-size-limit).")
    var joinLimitPerCode: Int?

    @OptionGroup var failureLimits: FailureLimitOptions

    @Option(help: "Reverse proxies whose X-Forwarded-For names the client, comma-separated CIDRs (env ATTENDANCE_API_TRUSTED_PROXIES, config `api.trusted_proxies`; default none: the header is ignored).")
    var trustedProxies: String?

    @Option(help: "Purge classes this many days after they closed (env ATTENDANCE_RETENTION_DAYS, config `retention_days`; default 400).")
    var retentionDays: Int?

    @OptionGroup var oidc: OIDCOptions
    @OptionGroup var webhooks: WebhookOptions

    @OptionGroup var common: CommonOptions

    func run() throws {
        let settings = try common.settings()
        let logger = common.logger(label: "attendance.api", settings: settings)
        let address = try common.listenAddress(settings, flag: listen, component: "api", default: "127.0.0.1:8081")
        let (signer, qrKey) = try common.secrets(settings, logger: logger)
        let publicURL = settings.value(flag: publicUrl, env: "ATTENDANCE_API_PUBLIC_URL", key: "api.public_url")
        if let publicURL, !(publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://")) {
            throw ValidationError("--public-url must start with http:// or https://")
        }
        var configuration = APIConfiguration(listen: address, redis: try common.redisConfiguration(settings),
                                             signer: signer, qrKey: qrKey, publicURL: publicURL)
        let hub = settings.value(flag: hubUrl, env: "ATTENDANCE_API_HUB_URL", key: "api.hub_url", default: configuration.hubURL)!
        guard hub.hasPrefix("ws://") || hub.hasPrefix("wss://") else { throw ValidationError("--hub-url must start with ws:// or wss://") }
        configuration.hubURL = hub
        configuration.limits = try failureLimits.storeLimits(settings)
        configuration.trustedProxies = try networks(settings, flag: trustedProxies, name: "trusted_proxies", prefix: "api.")
        configuration.limits.classSizeLimit = try positive(settings, flag: classSizeLimit, name: "class_size_limit", prefix: "api.",
                                                           default: configuration.limits.classSizeLimit)
        configuration.classCreationsPerTeacher = try positive(settings, flag: classCreationsPerTeacher, name: "class_creations_per_teacher",
                                                              prefix: "api.", default: configuration.classCreationsPerTeacher)
        warnDeprecated(settings, logger: logger)
        configuration.retentionDays = try attendance.retentionDays(settings, flag: retentionDays)
        configuration.oidc = try oidc.settings(settings, publicURL: publicURL)
        configuration.webhooks = try webhooks.settings(settings, dev: common.dev)
        do {
            try APIServer.run(configuration, logger: logger)
        } catch let error as APIServerError {
            throw ValidationError(error.description)
        }
    }

    /// The join limits counted successes, which locked out schools behind one NAT address. Their
    /// settings are still accepted, so existing deployments start, and ignored with a warning.
    private func warnDeprecated(_ settings: Settings, logger: Logger) {
        for (flag, name) in [(joinLimitPerAddress, "join_limit_per_address"), (joinLimitPerCode, "join_limit_per_code")]
        where settings.value(flag: flag.map(String.init), env: "ATTENDANCE_API_\(name.uppercased())", key: "api.\(name)") != nil {
            logger.warning("api.\(name) (--\(name.replacingOccurrences(of: "_", with: "-"))) is deprecated and ignored: successful joins are not limited any more; failures are (--failure-limit-per-address), and classes without a roster by --class-size-limit")
        }
    }
}
