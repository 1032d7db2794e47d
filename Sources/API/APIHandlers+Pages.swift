import HTTP

extension APIHandlers {
    /// `GET /`: the teacher dashboard.
    func dashboardPage(_ exchange: Exchange) {
        exchange.send(page(DashboardPage.html(hubURL: configuration.hubURL), connectTo: configuration.hubURL))
    }

    /// `GET /j/{link_token}` and `GET /checkin?qr=…`: the student page. It reads the link token or QR
    /// token from its own URL in script, so no request input is ever written into the HTML.
    func studentPage(_ exchange: Exchange) {
        exchange.send(page(StudentPage.html, connectTo: nil))
    }

    /// A page with headers that keep it from being framed, sniffed, cached, or leaking its URL (which
    /// may hold a join token) to other sites. Scripts and styles are inline by design (one file
    /// each), so the policy allows inline code and nothing from elsewhere.
    private func page(_ html: [UInt8], connectTo hub: String?) -> HTTPResponse {
        var connect = "'self'"
        if let hub, let origin = Self.webSocketOrigin(hub) { connect += " " + origin }
        let policy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' blob: data:; "
            + "connect-src \(connect); base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        return HTTPResponse(status: 200, headers: [
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        ], body: html)
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
