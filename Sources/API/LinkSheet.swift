import Attendance

/// The printable sheet of personal join links (`GET /v1/classes/{id}/links?format=html`): one card
/// per student with name, id, the QR code of the link and the link itself, laid out for A4 paper.
/// Plain HTML with print CSS and no scripts; every text from outside is HTML-escaped.
enum LinkSheet {
    /// The page, or nil when a link did not fit a QR code (the public URL is bounded, so it always does).
    static func render(_ sheet: PersonalLinks, publicBase: String) -> [UInt8]? {
        let title = "Join links: " + PageEscaping.html(sheet.className)
        var html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title>
        <style>
        @page { size: A4; margin: 12mm; }
        body { font: 11pt system-ui, sans-serif; margin: 0; color: #000; background: #fff; }
        h1 { font-size: 14pt; margin: 0 0 6mm; }
        .cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4mm; }
        .card { border: 1px dashed #555; padding: 3mm; break-inside: avoid; page-break-inside: avoid; text-align: center; }
        .card svg { width: 38mm; height: 38mm; display: block; margin: 0 auto 2mm; }
        .name { font-weight: bold; overflow-wrap: anywhere; }
        .id { font-family: ui-monospace, monospace; }
        .link { font: 7pt ui-monospace, monospace; overflow-wrap: anywhere; margin-top: 1mm; }
        p.hint { margin: 0 0 4mm; }
        @media print { p.hint { display: none; } }
        </style></head>
        <body>
        <h1>\(title)</h1>
        <p class="hint">Print this page, cut out the cards and hand each student their own. A card joins only as its student and only until the class ends.</p>
        <main class="cards">

        """
        for link in sheet.links {
            let url = publicBase + JoinLink.path(token: link.linkToken)
            guard let svg = QRCodeSVG.render(url) else { return nil }
            html += #"<section class="card" aria-label="\#(PageEscaping.html(link.name ?? link.studentId))">"#
            html += String(decoding: svg, as: UTF8.self)
            html += #"<div class="name">\#(PageEscaping.html(link.name ?? "—"))</div>"#
            html += #"<div class="id">\#(PageEscaping.html(link.studentId))</div>"#
            html += #"<div class="link">\#(PageEscaping.html(url))</div></section>"#
            html += "\n"
        }
        if sheet.links.isEmpty { html += "<p>No students on the roster or joined yet.</p>\n" }
        html += "</main>\n</body></html>\n"
        return Array(html.utf8)
    }
}
