/// What every session of a worker shares: one object, so an idle session holds one reference for
/// the worker, its metrics and its budget limits instead of three.
final class SessionContext {
    /// The worker outlives its sessions (it runs until its loop ends); `unowned` checks that. The
    /// worker holds this object, so a strong reference here would be a cycle.
    unowned let worker: HubWorker
    let metrics: HubMetrics
    let budgetLimits: ClientBudgetLimits

    init(worker: HubWorker, metrics: HubMetrics, budgetLimits: ClientBudgetLimits) {
        self.worker = worker
        self.metrics = metrics
        self.budgetLimits = budgetLimits
    }
}

@available(*, unavailable)
extension SessionContext: Sendable {}
