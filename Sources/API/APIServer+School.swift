import Attendance
import EventLoop
import HTTP

extension APIServer {
    /// Checks the webhook URLs and CA file, hooks the after-close work (report index, absence
    /// webhooks) to every class this process closes, and starts delivering when URLs are configured.
    func startSchoolWork() throws {
        let settings = configuration.webhooks
        for url in settings.urls {
            if case .failure(let error) = OutboundWebhookTransport.validate(url) {
                throw APIServerError(description: "\(error)")
            }
        }
        store.onClassClosed = { [weak self] classId in self?.runAfterClose(classId) }
        guard !settings.urls.isEmpty else { return }
        guard !settings.secret.isEmpty else { throw APIServerError(description: "webhook URLs need ATTENDANCE_WEBHOOK_SECRET") }
        guard settings.claimIdleMs > Int64(settings.timeoutMs) else {
            throw APIServerError(description: "the webhook claim idle time must exceed the webhook timeout")
        }
        guard let tls = TLSClientContext(caFile: settings.caFile) else {
            throw APIServerError(description: settings.caFile.map { "webhook_ca_file \($0) cannot be loaded as PEM certificates" }
                                     ?? "the system's CA certificates cannot be loaded for webhooks")
        }
        let deliverer = WebhookDeliverer(store: store, settings: settings, transport: OutboundWebhookTransport(loop: loop, tls: tls),
                                         metrics: metrics, logger: logger)
        deliverer.start(loop: loop)
        webhookDeliverer = deliverer
    }

    /// After-close work of one class; on failure the sweep retries it (`retryStaleAfterClose`).
    func runAfterClose(_ classId: String) {
        store.afterClose(classId: classId, webhookURLs: configuration.webhooks.urls) { [logger] result in
            switch result {
            case .success(let jobs) where jobs > 0:
                logger.info("queued \(jobs) absence notification(s)", metadata: ["class_id": "\(classId)"])
            case .success:
                break
            case .failure(let error):
                logger.warning("after-close work failed; retrying later", metadata: ["class_id": "\(classId)", "error": "\(error.message)"])
            }
        }
    }

    /// Classes whose after-close work was registered long ago and is still not done (the process
    /// that closed them died, or Redis failed half-way); safe to run beside other apis.
    func retryStaleAfterClose() {
        store.staleAfterClose(olderThanMs: ClassStore.afterCloseRetryMs) { [weak self] result in
            guard let self, case .success(let ids) = result else { return }
            for id in ids { self.runAfterClose(id) }
        }
    }
}
