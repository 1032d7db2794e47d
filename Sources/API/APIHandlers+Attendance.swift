import Attendance
import HTTP

extension APIHandlers {
    /// `GET /v1/classes/{id}/attendance[?format=csv[&utc_offset_min=N]]` (its teacher, admin): every
    /// roster or joined student with its status. The CSV writes times at the given UTC offset (the
    /// reader's; default UTC) and is named after the class and its date.
    func attendance(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange), let format = format(exchange, allowed: ["json", "csv", "edfi"]) else { return }
        // Students read their own row through the hub; this list is the teacher's.
        guard actor.role != .student else {
            return exchange.fail(.forbidden("Only the class's teacher or an admin may do this"))
        }
        if format == "edfi" { return edfiAttendance(exchange, classId: classId, actor: actor) }
        var offset = 0
        if format == "csv", let text = exchange.request.query("utc_offset_min") {
            guard let value = Int(text), LocalTime.offsets.contains(value) else {
                return exchange.fail(.badRequest("utc_offset_min must be a whole number of minutes from -840 to 840"))
            }
            offset = value
        }
        guard format == "csv" else {
            return store.snapshot(classId: classId, actor: actor) { result in
                self.reply(exchange, result) { ResponseEncoding.attendance(classId: classId, snapshot: $0) }
            }
        }
        store.classInfo(classId: classId, actor: actor) { info in
            guard case .success(let info) = info else {
                return self.reply(exchange, info) { _ in [] }
            }
            self.store.snapshot(classId: classId, actor: actor) { result in
                guard case .success(let snapshot) = result else { return self.reply(exchange, result) { _ in [] } }
                exchange.send(HTTPResponse(status: 200, headers: [
                    "Content-Type": "text/csv; charset=utf-8; header=present",
                    "Content-Disposition": CSVExport.contentDisposition(className: info.name, startMs: info.startMs,
                                                                        utcOffsetMin: offset),
                    "Cache-Control": "no-store",
                ], body: CSVExport.render(snapshot.students, utcOffsetMin: offset)))
            }
        }
    }

    /// `GET /v1/classes/{id}/links[?format=csv|html]` (its teacher, admin): a personal join link per
    /// student, as JSON, CSV, or a printable sheet of cards with QR codes.
    func personalLinks(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange), let format = format(exchange, allowed: ["json", "csv", "html"]) else { return }
        store.personalLinks(classId: classId, actor: actor) { [publicBase] result in
            guard format != "json", case .success(let sheet) = result else {
                return self.reply(exchange, result) {
                    ResponseEncoding.personalLinks(classId: classId, links: $0.links, publicBase: publicBase)
                }
            }
            guard format == "html" else {
                return exchange.send(HTTPResponse(status: 200, headers: [
                    "Content-Type": "text/csv; charset=utf-8; header=present",
                    "Content-Disposition": #"attachment; filename="links-\#(classId).csv""#,
                    "Cache-Control": "no-store",
                ], body: CSVExport.renderLinks(sheet.links, publicBase: publicBase)))
            }
            guard let page = LinkSheet.render(sheet, publicBase: publicBase) else {
                // APIServer bounds the public URL so every link fits a QR code; only memory exhaustion is left.
                self.logger.error("QR encoding failed")
                return exchange.fail(APIError(.unavailable))
            }
            exchange.send(HTTPResponse(status: 200, headers: [
                "Content-Type": "text/html; charset=utf-8",
                // No scripts, no outside resources: the sheet is printed, not run.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            ], body: page))
        }
    }

    /// `PATCH /v1/classes/{id}/attendance/{student_id}` (its teacher, admin): `{status, note?}`.
    func override(_ exchange: Exchange, classId: String, studentId: String) {
        guard let actor = authenticate(exchange) else { return }
        guard let body = body(exchange, fields: ["status", "note"]) else { return }
        let status: AttendanceStatus
        let note: String?
        do throws(APIError) {
            guard Identifier.isValid(studentId) else { throw JSONBody.invalidIdentifier("student_id (in the path)") }
            status = try body.status("status")
            note = try body.string("note")
        } catch {
            return exchange.fail(error)
        }
        store.override(classId: classId, studentId: studentId, status: status, note: note, actor: actor,
                       address: exchange.clientAddress) { result in
            self.reply(exchange, result, ResponseEncoding.override)
        }
    }

    /// `POST /v1/classes/{id}/attendance:bulk` (its teacher, admin): `{student_ids, status}` or
    /// `{student_ids: "all_unmarked", status}` (also `{all_unmarked: true, status}`); all or nothing.
    func bulk(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange) else { return }
        guard let body = body(exchange, fields: ["student_ids", "all_unmarked", "status"]) else { return }
        let target: BulkTarget
        let status: AttendanceStatus
        do throws(APIError) {
            let allUnmarked = try body.bool("all_unmarked") ?? false
            if body.object["student_ids"]?.string == "all_unmarked" {
                target = .allUnmarked
            } else if let ids = try body.identifierArray("student_ids") {
                guard !allUnmarked else { throw APIError.badRequest("Give either student_ids or all_unmarked, not both") }
                target = .students(ids)
            } else if allUnmarked {
                target = .allUnmarked
            } else {
                throw APIError.badRequest(#"student_ids is required: an array of student ids or "all_unmarked""#)
            }
            status = try body.status("status")
        } catch {
            return exchange.fail(error)
        }
        store.bulk(classId: classId, target: target, status: status, actor: actor, address: exchange.clientAddress) { result in
            self.reply(exchange, result) { ResponseEncoding.bulk($0, status: status) }
        }
    }

    /// `POST /v1/classes/{id}/close` (its teacher, admin): unmarked students become absent. A body,
    /// if any, is ignored: there is nothing to say but "close".
    func close(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange) else { return }
        store.close(classId: classId, actor: actor, address: exchange.clientAddress) { result in
            self.reply(exchange, result) { ResponseEncoding.closed(classId: classId, $0) }
        }
    }

    /// `POST /v1/classes/{id}/students/{student_id}/device:reset` (its teacher, admin) →
    /// `{student_id, device}`: the key id that was bound (null when none).
    func resetDevice(_ exchange: Exchange, classId: String, studentId: String) {
        guard let actor = authenticate(exchange) else { return }
        store.resetDevice(classId: classId, studentId: studentId, actor: actor, address: exchange.clientAddress) { result in
            self.reply(exchange, result) { ResponseEncoding.deviceReset(studentId: studentId, device: $0) }
        }
    }

    /// `GET /v1/classes/{id}/events?since=<offset>[&limit=N]` (its teacher, admin): the event log after
    /// `since` (from the start without it), one page at a time; continue from `next` while `has_more`.
    func events(_ exchange: Exchange, classId: String) {
        guard let actor = authenticate(exchange) else { return }
        guard actor.role != .student else {
            return exchange.fail(.forbidden("Only the class's teacher or an admin may do this"))
        }
        var since: EventOffset?
        if let text = exchange.request.query("since"), !text.isEmpty {
            guard let offset = EventOffset(text) else {
                return exchange.fail(.badRequest(#"since must be an offset like "1732540000000-0""#))
            }
            since = offset
        }
        var limit = ClassStore.defaultEventPage
        if let text = exchange.request.query("limit") {
            guard let value = Int(text), (1...ClassStore.maxEventPage).contains(value) else {
                return exchange.fail(.badRequest("limit must be an integer within 1...\(ClassStore.maxEventPage)"))
            }
            limit = value
        }
        store.events(classId: classId, since: since, limit: limit, actor: actor) { result in
            self.reply(exchange, result) { ResponseEncoding.events(classId: classId, $0) }
        }
    }
}
