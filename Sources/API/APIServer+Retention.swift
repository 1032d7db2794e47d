import Attendance

extension APIServer {
    /// Purges classes closed longer than `retentionDays` ago, after each close sweep that found
    /// nothing more to close. Several api processes may run it at once (see `purgeClass`).
    func purgeRetainedClasses() {
        guard !sweeping, !isShuttingDown, redis.isConnected else { return }
        sweeping = true
        let cutoff = clock() - Int64(configuration.retentionDays) * 86_400_000
        store.sweepRetainedClasses(closedBeforeMs: cutoff) { [weak self] result in
            guard let self else { return }
            self.sweeping = false
            switch result {
            case .success(let purged):
                guard !purged.isEmpty else { return }
                self.metrics.classesPurged += purged.count
                self.logger.info("purged \(purged.count) class(es) closed over \(self.configuration.retentionDays) days ago",
                                 metadata: ["class_ids": "\(purged)"])
                if purged.count >= ClassStore.sweepBatch { self.purgeRetainedClasses() }
            case .failure(let error):
                self.logger.warning("retention purge failed: \(error.message)")
            }
        }
    }
}
