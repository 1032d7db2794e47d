import API
import ArgumentParser

struct APICommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Run the REST sidecar (/v1, /healthz, /metrics, web pages).")

    @Option(help: "Listen address (env ATTENDANCE_API_LISTEN, config `api.listen`; default 127.0.0.1:8081).")
    var listen: String?

    @Option(help: "Base URL students reach this server at, for join links and QR codes (env ATTENDANCE_API_PUBLIC_URL, config `api.public_url`; default http://<listen>).")
    var publicUrl: String?

    @Option(help: "Hub WebSocket URL the dashboard connects to (env ATTENDANCE_API_HUB_URL, config `api.hub_url`; default ws://127.0.0.1:8080/ws).")
    var hubUrl: String?

    @Option(help: "Join attempts per client address per minute (env ATTENDANCE_API_JOIN_LIMIT_PER_ADDRESS, config `api.join_limit_per_address`; default 60).")
    var joinLimitPerAddress: Int?

    @Option(help: "Join attempts per join code per minute (env ATTENDANCE_API_JOIN_LIMIT_PER_CODE, config `api.join_limit_per_code`; default 300).")
    var joinLimitPerCode: Int?

    @Option(help: "Purge classes this many days after they closed (env ATTENDANCE_RETENTION_DAYS, config `retention_days`; default 400).")
    var retentionDays: Int?

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
        configuration.joinLimitPerAddress = try limit(settings, flag: joinLimitPerAddress, name: "join_limit_per_address",
                                                      default: configuration.joinLimitPerAddress)
        configuration.joinLimitPerCode = try limit(settings, flag: joinLimitPerCode, name: "join_limit_per_code",
                                                   default: configuration.joinLimitPerCode)
        configuration.retentionDays = try attendance.retentionDays(settings, flag: retentionDays)
        do {
            try APIServer.run(configuration, logger: logger)
        } catch let error as APIServerError {
            throw ValidationError(error.description)
        }
    }

    private func limit(_ settings: Settings, flag: Int?, name: String, default fallback: Int) throws -> Int {
        guard let value = settings.integer(flag: flag, env: "ATTENDANCE_API_\(name.uppercased())", key: "api.\(name)", default: fallback),
              value >= 1
        else { throw ValidationError("\(name) must be a positive integer") }
        return value
    }
}
