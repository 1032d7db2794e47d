/// Escaping for the one configured value a page embeds (the hub URL, in an attribute of teacher.html).
enum PageEscaping {
    /// Text safe inside a double- or single-quoted HTML attribute.
    static func attribute(_ text: String) -> String {
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
