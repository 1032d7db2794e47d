import ArgumentParser

struct APICommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Run the REST sidecar (/v1, /healthz, /metrics, web pages).")

    @Option(help: "Listen address (env ATTENDANCE_API_LISTEN, config `api.listen`; default 127.0.0.1:8081).")
    var listen: String?

    @OptionGroup var common: CommonOptions

    func run() throws {
        throw ValidationError("the REST sidecar is not built yet")
    }
}
