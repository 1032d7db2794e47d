import HTTP

extension APIHandlers {
    /// `GET /`: the teacher's page (sign-in, my classes, the live class, projector mode).
    func teacherPage(_ exchange: Exchange) { sendPage(exchange, "teacher.html") }

    /// `GET /checkin?qr=…` (what the QR encodes), `GET /j/{link_token}` and `GET /c` (where students
    /// type the code): the student page. It reads the QR or link token from its own URL in script, so
    /// no request input is ever written into the HTML.
    func studentPage(_ exchange: Exchange) { sendPage(exchange, "student.html") }

    /// `GET /assets/{name}`: the pages' scripts and style sheet; `GET /sw.js`: the student page's
    /// service worker (at the root, so its scope covers `/checkin`, `/j/` and `/c`).
    func pageAsset(_ exchange: Exchange, name: String) {
        guard name.hasSuffix(".js") || name.hasSuffix(".css"), name != "sw.js", pages.files[name] != nil else {
            return exchange.send(.error(404, code: "not_found", message: "No such file"))
        }
        sendPage(exchange, name)
    }

    func serviceWorker(_ exchange: Exchange) { sendPage(exchange, "sw.js") }

    /// A file with headers that keep it from being framed, sniffed or leaking its URL (which may hold
    /// a join token) to other sites. Browsers revalidate every use (`no-cache` with an ETag), so a
    /// new release is picked up at once while an unchanged file costs a 304.
    private func sendPage(_ exchange: Exchange, _ name: String) {
        guard let file = pages.files[name] else {
            return exchange.send(.error(404, code: "not_found", message: "No such file"))
        }
        var headers: HTTPHeaders = [
            "Content-Type": file.contentType,
            "ETag": file.etag,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        ]
        if name.hasSuffix(".html") {
            headers.add("Content-Security-Policy", contentSecurityPolicy)
            headers.add("X-Frame-Options", "DENY")
        }
        let unchanged = exchange.request.headerValues("If-None-Match").contains { value in
            value.split(separator: ",").contains { tag in
                let tag = tag.trimmingPrefix(" ").trimmingPrefix("W/")
                return tag == "*" || tag.elementsEqual(file.etag)
            }
        }
        exchange.send(HTTPResponse(status: unchanged ? 304 : 200, headers: headers, body: unchanged ? [] : file.body))
    }

    /// Scripts, styles and workers from this origin only, nothing inline; connections to the api and
    /// the hub; images from the api (the QR SVG as a blob); the camera's stream for scanning.
    private var contentSecurityPolicy: String {
        var connect = "'self'"
        if let origin = Self.webSocketOrigin(configuration.hubURL) { connect += " " + origin }
        return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
            + "media-src 'self' blob: mediastream:; worker-src 'self'; connect-src \(connect); "
            + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    /// `ws://host:port` of a hub URL, for the page's connect-src (nil when it is not a ws/wss URL or
    /// holds characters that do not belong in a header).
    static func webSocketOrigin(_ url: String) -> String? {
        let scheme = url.hasPrefix("ws://") ? "ws://" : url.hasPrefix("wss://") ? "wss://" : nil
        guard let scheme else { return nil }
        let authority = url.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty,
              authority.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_:[]".contains($0)) })
        else { return nil }
        return scheme + authority
    }
}
