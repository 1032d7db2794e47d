extension ClassStore {
    /// How long after `client_time_ms` an offline check-in may still arrive.
    public static let offlineDeliveryMs: Int64 = 30 * 60_000
    /// How long after its class closed an offline check-in is still taken (PROTOCOL.md "Offline
    /// check-ins"): a phone that scanned in a basement room reconnects on the way out.
    public static let offlineCloseGraceMs: Int64 = 10 * 60_000

    /// A QR or a scan receipt that held, and what the check-in records about it.
    struct Presence {
        /// `stale_qr`, `offline`.
        var flags: [String] = []
        /// A receipt's device key thumbprint: the signing key must have it.
        var thumbprint: String?
        /// The offline check-in's `client_time_ms` (its status is decided by it); nil otherwise.
        var offlineAtMs: Int64?
    }

    /// Checks the QR (or receipt) `proof` of a check-in to `classId` and says what it proves. An
    /// expired one still holds for an offline check-in that keeps the offline rule; everything
    /// else that does not hold answers like the QR would (`qr_invalid`, `qr_expired`).
    func presence(_ proof: String, isReceipt: Bool, classId: String, params: ClassParams,
                  device: DeviceSignature?) -> Result<Presence, AttendanceError> {
        let offline = device?.offline == true
        if (isReceipt || offline) && device == nil {
            return .failure(.badRequest("a receipt or an offline check-in needs device_sig and client_time_ms"))
        }
        let now = clock()
        let periodMs = Int64(params.qrPeriodS) * 1000
        var presence = Presence()
        let expired: Bool
        // The span in which an offline check-in's client_time_ms must lie: the proof's own validity
        // plus one period of clock skew on either side.
        let span: Range<Int64>
        if isReceipt {
            guard let receipt = ScanReceipt.open(proof, signer: signer), receipt.classId == classId else {
                return .failure(.qrInvalid)
            }
            // Stale as at the exchange: the QR was from the window before the one current then.
            if receipt.window < QRToken.floorDiv(receipt.issuedMs, periodMs) { presence.flags.append("stale_qr") }
            presence.thumbprint = receipt.thumbprint
            expired = now >= receipt.expiresMs
            span = (receipt.issuedMs - periodMs)..<(receipt.expiresMs + periodMs)
        } else {
            switch verifyQR(proof, classId: classId, params: params) {
            case .qrExpired?: expired = true
            case let error?: return .failure(error)
            case nil: expired = false
            }
            if !expired, isPreviousWindow(proof, params: params) { presence.flags.append("stale_qr") }
            let window = QRToken.parse(proof)?.window ?? 0
            // Its own window and the next (the previous-window grace), plus skew.
            span = ((window - 1) * periodMs)..<((window + 2) * periodMs)
        }
        // Still valid: an ordinary check-in, flagged so the teacher knows it was queued on the phone.
        guard expired else {
            if offline { presence.flags.append("offline") }
            return .success(presence)
        }
        guard offline, let device, span.contains(device.clientTimeMs), device.clientTimeMs <= now + periodMs,
              now - device.clientTimeMs <= Self.offlineDeliveryMs
        else { return .failure(.qrExpired) }
        if !isReceipt, let window = QRToken.parse(proof)?.window,
           window < QRToken.floorDiv(device.clientTimeMs, periodMs) {
            presence.flags.append("stale_qr")
        }
        presence.flags.append("offline")
        presence.offlineAtMs = device.clientTimeMs
        return .success(presence)
    }
}

extension ClassStore {
    /// Exchanges a QR that is valid now (current or previous window) for a scan receipt bound to
    /// `deviceKey` (`POST /v1/receipts`). Anyone may ask; a forged or expired QR counts as a failure
    /// against `address`, and an address over its failure limit is refused, as for joins.
    public func issueReceipt(qr: String, deviceKey: DeviceKey, address: String,
                             completion: @escaping (Result<IssuedReceipt, AttendanceError>) -> Void) {
        let parsed = QRToken.parse(qr)
        let read: (@escaping (Result<ClassParams, AttendanceError>) -> Void) -> Void = { done in
            // A malformed QR reads nothing and answers like one naming no class.
            guard let parsed else { return done(.failure(AttendanceError.classNotFound)) }
            self.params(parsed.classId, completion: done)
        }
        gated(address: address, read) { (outcome: Result<Result<ClassParams, AttendanceError>, AttendanceError>) in
            let params: ClassParams
            switch outcome {
            case .failure(let limited): return completion(.failure(limited))
            // A QR naming a class that does not exist cannot carry a valid MAC.
            case .success(.failure(.notFound)): return self.finish(.failure(.qrInvalid), address: address, completion)
            case .success(.failure(let error)): return completion(.failure(error))
            case .success(.success(let found)): params = found
            }
            guard let parsed else { return self.finish(.failure(.qrInvalid), address: address, completion) }
            if let error = self.verifyQR(qr, classId: parsed.classId, params: params) {
                return self.finish(.failure(error), address: address, completion)
            }
            let now = self.clock()
            let receipt = ScanReceipt(classId: parsed.classId, window: parsed.window, issuedMs: now,
                                      expiresMs: now + ScanReceipt.lifetimeMs, thumbprint: deviceKey.thumbprint)
            completion(.success(IssuedReceipt(receipt: receipt.seal(self.signer), classId: parsed.classId,
                                              className: params.name, expiresAtMs: receipt.expiresMs)))
        }
    }
}
