import RedisClient

extension ClassStore {
    /// Classes handled per sweep call; the rest wait for the next call.
    public static let sweepBatch = 100
    /// A class whose close failed is retried this much later, so it cannot hold the head of the
    /// due list (and a full batch of broken classes cannot starve the others).
    public static let sweepRetryMs: Int64 = 60_000

    /// Closes every class whose planned end (`closes_at_ms`) is at or before `nowMs`, as the system
    /// actor, and removes the bookkeeping of classes closed by hand but not yet cleaned up.
    /// Completes with the ids this call closed.
    ///
    /// Safe with several processes sweeping at once: the close script closes a class once; the
    /// others get `class_closed` (or `not_found` for an entry whose creation failed) and just clean up.
    /// A class that fails to close (a corrupt key, a script error) is logged and retried after
    /// `sweepRetryMs`; the others are swept all the same. Only the read of the due list can fail the call.
    public func sweepExpiredClasses(nowMs: Int64, completion: @escaping (Result<[String], AttendanceError>) -> Void) {
        redis.send(["ZRANGEBYSCORE", Keys.closing, "-inf", String(nowMs), "LIMIT", "0", String(Self.sweepBatch)]) { result in
            let due: [String]
            switch result {
            case .failure(let error): return completion(.failure(AttendanceError(redis: error)))
            case .success(let value): due = value.array?.compactMap(\.text) ?? []
            }
            self.sweep(due[...], closed: [], nowMs: nowMs, completion: completion)
        }
    }

    private func sweep(_ due: ArraySlice<String>, closed: [String], nowMs: Int64,
                       completion: @escaping (Result<[String], AttendanceError>) -> Void) {
        guard let classId = due.first else { return completion(.success(closed)) }
        let rest = due.dropFirst()
        guard Identifier.isValid(classId) else {
            forgetClass(classId, code: "", closed: false)
            return sweep(rest, closed: closed, nowMs: nowMs, completion: completion)
        }
        closeClass(classId: classId, actorId: Actor.system.id, owner: "", address: "sweep") { result in
            switch result {
            case .success:
                self.sweep(rest, closed: closed + [classId], nowMs: nowMs, completion: completion)
            case .failure(.classClosed):
                // Closed by someone whose cleanup did not finish: finish it.
                self.redis.send(["HGET", Keys.meta(classId), "code"]) { code in
                    self.forgetClass(classId, code: (try? code.get())?.text ?? "", closed: true)
                    self.sweep(rest, closed: closed, nowMs: nowMs, completion: completion)
                }
            case .failure(.notFound):
                self.forgetClass(classId, code: "", closed: false)
                self.sweep(rest, closed: closed, nowMs: nowMs, completion: completion)
            case .failure(let error):
                self.logger.error("auto-close failed; retrying later",
                                  metadata: ["class_id": "\(classId)", "error": "\(error)"])
                // XX: an entry someone removed meanwhile stays removed.
                self.redis.send(["ZADD", Keys.closing, "XX", String(nowMs + Self.sweepRetryMs), classId]) { _ in
                    self.sweep(rest, closed: closed, nowMs: nowMs, completion: completion)
                }
            }
        }
    }
}
