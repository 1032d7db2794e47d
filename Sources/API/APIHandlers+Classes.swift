import Attendance
import HTTP

extension APIHandlers {
    /// `POST /v1/classes` (teacher, admin) → 201 with the code, link and first QR; 429 beyond
    /// `classCreationsPerTeacher` a window.
    func createClass(_ exchange: Exchange) {
        guard let actor = authenticate(exchange) else { return }
        guard let body = body(exchange, fields: ["name", "roster", "late_after_s", "duration_s", "qr_period_s",
                                                 "allow_code_checkin", "allowed_networks", "device_policy",
                                                 "join_requires", "enrol_unknown", "course_id"]) else { return }
        var request: CreateClassRequest
        do throws(APIError) {
            if let course = try body.string("course_id") {
                // The course gives these; a second source would leave the teacher unsure which won.
                for field in ["name", "roster", "late_after_s"] where body.has(field) {
                    throw APIError.badRequest("\(field) comes from the course; leave it out with course_id")
                }
                request = CreateClassRequest(name: "")
                request.courseId = course
            } else {
                request = CreateClassRequest(name: try body.requiredString("name"))
            }
            if let roster = try body.identifierArray("roster") { request.roster = roster }
            if let value = try body.int("late_after_s") { request.lateAfterS = value }
            if let value = try body.int("duration_s") { request.durationS = value }
            if let value = try body.int("qr_period_s") { request.qrPeriodS = value }
            if let value = try body.bool("allow_code_checkin") { request.allowCodeCheckin = value }
            if let value = try body.networkArray("allowed_networks", limit: CreateClassRequest.maxAllowedNetworks) {
                request.allowedNetworks = value
            }
            if let value = try body.choice("device_policy", DevicePolicy.self) { request.devicePolicy = value }
            if let value = try body.choice("join_requires", JoinRequirement.self) { request.joinRequires = value }
            if let value = try body.choice("enrol_unknown", EnrolUnknown.self) { request.enrolUnknown = value }
        } catch {
            return exchange.fail(error)
        }
        // Counted per teacher before anything is written; a refused request creates nothing.
        store.rateLimit(scope: "create", key: actor.id, limit: configuration.classCreationsPerTeacher,
                        windowS: configuration.classCreationWindowS) { decision in
            switch decision {
            case .failure(let error):
                return exchange.fail(APIError(error))
            case .success(let decision) where !decision.allowed:
                self.metrics.rateLimited += 1
                return exchange.fail(APIError(.rateLimited(retryAfterS: decision.retryAfterS)))
            case .success:
                break
            }
            let create = request.courseId.isEmpty ? self.store.createClass : { request, actor, address, completion in
                self.store.openCourse(id: request.courseId, request: request, durationFromCourse: !body.has("duration_s"),
                                      actor: actor, address: address, completion: completion)
            }
            create(request, actor, exchange.clientAddress) { [publicBase = self.publicBase] result in
                switch result {
                case .success(let created):
                    var response = HTTPResponse.json(201, ResponseEncoding.created(created, publicBase: publicBase))
                    response.headers.add("Location", "/v1/classes/\(created.classId)")
                    response.headers.add("Cache-Control", "no-store")
                    exchange.send(response)
                case .failure(let error):
                    exchange.fail(APIError(error))
                }
            }
        }
    }

    /// `GET /v1/classes/{id}` (its teacher, admin): the class and its status counts.
    func classInfo(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange) else { return }
        store.classInfo(classId: classId, actor: actor) { [publicBase] result in
            self.reply(exchange, result) { ResponseEncoding.classInfo($0, publicBase: publicBase) }
        }
    }

    /// `PATCH /v1/classes/{id}` (its teacher, admin; open classes): changes `device_policy`,
    /// `join_requires`, `enrol_unknown`, `allowed_networks` → the class as `GET` answers it.
    func updateClass(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange) else { return }
        guard let body = body(exchange, fields: ["device_policy", "join_requires", "enrol_unknown", "allowed_networks"])
        else { return }
        var change = ClassSettingsChange()
        do throws(APIError) {
            change.devicePolicy = try body.choice("device_policy", DevicePolicy.self)
            change.joinRequires = try body.choice("join_requires", JoinRequirement.self)
            change.enrolUnknown = try body.choice("enrol_unknown", EnrolUnknown.self)
            change.allowedNetworks = try body.networkArray("allowed_networks", limit: CreateClassRequest.maxAllowedNetworks)
        } catch {
            return exchange.fail(error)
        }
        store.updateClass(classId: classId, change: change, actor: actor, address: exchange.clientAddress) { [publicBase] result in
            self.reply(exchange, result) { ResponseEncoding.classInfo($0, publicBase: publicBase) }
        }
    }

    /// `GET /v1/classes/{id}/qr[?format=svg]` (its teacher, admin): the current QR token as JSON, or
    /// the QR image of its check-in URL.
    func currentQR(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange), let format = format(exchange, allowed: ["json", "svg"]) else { return }
        store.currentQR(classId: classId, actor: actor) { [publicBase] result in
            guard format == "svg", case .success(let code) = result else {
                return self.reply(exchange, result) { ResponseEncoding.qr($0, publicBase: publicBase) }
            }
            guard let svg = QRCodeSVG.render(ResponseEncoding.qrURL(code.qr, publicBase: publicBase)) else {
                // APIServer bounds the public URL so the text always fits; only memory exhaustion is left.
                self.logger.error("QR encoding failed")
                return exchange.fail(APIError(.unavailable))
            }
            exchange.send(HTTPResponse(status: 200, headers: [
                "Content-Type": "image/svg+xml",
                // The image changes with every window; a cached one would show an expired token.
                "Cache-Control": "no-store",
                "X-QR-Expires-Ms": String(code.expiresMs),
            ], body: svg))
        }
    }
}
