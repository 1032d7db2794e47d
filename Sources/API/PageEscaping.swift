/// Escaping for what the server writes into HTML: the hub URL in an attribute of teacher.html, and
/// names and links on the printable link sheet.
enum PageEscaping {
    /// Text safe as an HTML element's content or inside a double- or single-quoted attribute.
    static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
