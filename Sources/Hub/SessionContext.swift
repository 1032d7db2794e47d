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

    // The per-message counters are bumped here rather than as `context.metrics.x.add` in the session:
    // reached through two references, the optimized build retained and released the metrics object
    // around each add; from here it is one reference away, as it was from the session.
    func countMessageIn() { metrics.messagesIn.add(1, ordering: .relaxed) }
    func countMessagesOut(_ count: Int) { metrics.messagesOut.add(count, ordering: .relaxed) }
}

@available(*, unavailable)
extension SessionContext: Sendable {}
