import RedisClient

/// What `purgeClass` found.
public enum PurgeOutcome: Equatable, Sendable {
    /// Deleted; only its tombstone (`Keys.purged`) remains.
    case purged(closedAtMs: Int64)
    /// Closed, but more recently than the cutoff.
    case retained(closedAtMs: Int64)
    /// Still open: never purged.
    case open
    /// No such class (never created, or purged already).
    case gone
}

/// Totals of a full purge walk (`attendance purge`).
public struct PurgeSummary: Equatable, Sendable {
    public var purged = 0
    public var retained = 0
    public var open = 0
}

extension ClassStore {
    /// Purges one class if it was closed at or before `closedBeforeMs`, then removes what points at
    /// it from outside its slot (join code, auto-close and retention entries). An open class is
    /// never touched. Safe with several processes: the script decides once, the others see `gone`.
    public func purgeClass(_ classId: String, closedBeforeMs: Int64, actorId: String, address: String,
                           completion: @escaping (Result<PurgeOutcome, AttendanceError>) -> Void) {
        guard Identifier.isValid(classId) else { return completion(.success(.gone)) }
        let args = [classId, String(clock()), String(closedBeforeMs), actorId, Self.auditAddress(address)]
        let keys = Keys.classKeys(classId) + [Keys.purged(classId)]
        redis.evalScript(Self.purgeScript, keys: keys, args: args) { [logger] reply in
            let result = Self.map(reply, logger: logger) { value -> (PurgeOutcome, String)? in
                guard let fields = value.array, let kind = fields.first?.text else { return nil }
                switch (kind, fields.count) {
                case ("purged", 3): return fields[1].int.map { (.purged(closedAtMs: $0), fields[2].text ?? "") }
                case ("retained", 2): return fields[1].int.map { (.retained(closedAtMs: $0), "") }
                case ("open", 1): return (.open, "")
                case ("gone", 1): return (.gone, "")
                default: return nil
                }
            }
            if case .success(let (outcome, code)) = result { self.updateIndexes(classId, after: outcome, code: code) }
            completion(result.map(\.0))
        }
    }

    /// Keeps `att:retained` pointing at closed classes by their close time. Failures only cost a
    /// later retry, so they are logged.
    private func updateIndexes(_ classId: String, after outcome: PurgeOutcome, code: String) {
        let commands: [[String]]
        switch outcome {
        case .purged:
            paramsCache[classId] = nil
            releaseCode(code, classId: classId)
            commands = [["ZREM", Keys.closing, classId], ["ZREM", Keys.retained, classId]]
        case .retained(let closedAtMs):
            // Also enters classes closed before the index existed, found by the full walk.
            commands = [["ZADD", Keys.retained, String(closedAtMs), classId]]
        case .open:
            // Not expected in the index; pushed back rather than removed, so a close racing with
            // this call cannot lose its entry. `forgetClass` registers it again when it closes.
            commands = [["ZADD", Keys.retained, "XX", String(clock()), classId]]
        case .gone:
            commands = [["ZREM", Keys.retained, classId]]
        }
        for command in commands {
            redis.send(command) { [logger] result in
                if case .failure(let error) = result {
                    logger.warning("could not update the retention index", metadata: ["class_id": "\(classId)", "error": "\(error)"])
                }
            }
        }
    }

    /// Purges up to `sweepBatch` classes of the retention index closed at or before `closedBeforeMs`,
    /// as the system actor; completes with the ids purged. A full batch means more may be due.
    public func sweepRetainedClasses(closedBeforeMs: Int64, completion: @escaping (Result<[String], AttendanceError>) -> Void) {
        redis.send(["ZRANGEBYSCORE", Keys.retained, "-inf", String(closedBeforeMs), "LIMIT", "0", String(Self.sweepBatch)]) { result in
            switch result {
            case .failure(let error): completion(.failure(AttendanceError(redis: error)))
            case .success(let value):
                let due = value.array?.compactMap(\.text) ?? []
                self.purgeEach(due[...], closedBeforeMs: closedBeforeMs, address: "sweep", purged: Purged()) { result in
                    completion(result.map { $0.ids })
                }
            }
        }
    }

    /// Walks every class in Redis (SCAN, so classes closed before the retention index existed are
    /// found too) and purges those closed at or before `closedBeforeMs`. For `attendance purge`.
    public func purgeAllClasses(closedBeforeMs: Int64, address: String,
                                completion: @escaping (Result<PurgeSummary, AttendanceError>) -> Void) {
        scanAndPurge(cursor: "0", closedBeforeMs: closedBeforeMs, address: address, summary: PurgeSummary(), completion: completion)
    }

    private func scanAndPurge(cursor: String, closedBeforeMs: Int64, address: String, summary: PurgeSummary,
                              completion: @escaping (Result<PurgeSummary, AttendanceError>) -> Void) {
        redis.send(["SCAN", cursor, "MATCH", Keys.meta("*"), "COUNT", "1000"]) { result in
            let reply: [RedisValue]
            switch result {
            case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
            case .success(let value): reply = value.array ?? []
            }
            guard reply.count == 2, let next = reply[0].text else { return completion(.failure(.unavailable)) }
            let ids = (reply[1].array ?? []).compactMap { $0.text.flatMap(Keys.classId(ofMeta:)) }
            self.purgeEach(ids[...], closedBeforeMs: closedBeforeMs, address: address, purged: Purged()) { batch in
                switch batch {
                case .failure(let error): completion(.failure(error))
                case .success(let found):
                    var summary = summary
                    summary.purged += found.ids.count
                    summary.retained += found.retained
                    summary.open += found.open
                    if next == "0" { return completion(.success(summary)) }
                    self.scanAndPurge(cursor: next, closedBeforeMs: closedBeforeMs, address: address, summary: summary,
                                      completion: completion)
                }
            }
        }
    }

    private struct Purged {
        var ids: [String] = []
        var retained = 0
        var open = 0
    }

    /// One class at a time, so a sweep never floods Redis. A failure other than `unavailable` is
    /// logged and skipped: one bad class must not stop the others.
    private func purgeEach(_ due: ArraySlice<String>, closedBeforeMs: Int64, address: String, purged: Purged,
                           completion: @escaping (Result<Purged, AttendanceError>) -> Void) {
        guard let classId = due.first else { return completion(.success(purged)) }
        purgeClass(classId, closedBeforeMs: closedBeforeMs, actorId: Actor.system.id, address: address) { result in
            var purged = purged
            switch result {
            case .success(.purged): purged.ids.append(classId)
            case .success(.retained): purged.retained += 1
            case .success(.open): purged.open += 1
            case .success(.gone): break
            case .failure(.unavailable): return completion(.failure(.unavailable))
            case .failure(let error):
                self.logger.warning("could not purge class", metadata: ["class_id": "\(classId)", "error": "\(error)"])
            }
            self.purgeEach(due.dropFirst(), closedBeforeMs: closedBeforeMs, address: address, purged: purged, completion: completion)
        }
    }
}
