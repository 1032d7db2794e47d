@preconcurrency import CQREncode

/// Renders text as a QR code in SVG with libqrencode: one `<path>` of dark modules on a white
/// background, with the 4-module quiet zone ISO/IEC 18004 asks for so phone cameras find it.
enum QRCodeSVG {
    /// Quiet zone around the symbol, in modules.
    static let quietZone = 4
    /// Pixels per module of the intrinsic size; the image scales freely (viewBox), this only sets
    /// the size when a page does not.
    static let pixelsPerModule = 8

    /// The SVG document, or nil when libqrencode refuses the text (too long for any QR version).
    /// Error correction level M (15 %) survives glare on a projector and a slightly blurred photo.
    static func render(_ text: String) -> [UInt8]? {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        guard width > 0, let data = code.pointee.data else { return nil }
        let size = width + 2 * quietZone
        var path = ""
        path.reserveCapacity(width * width)
        for y in 0..<width {
            var x = 0
            while x < width {
                // Bit 0 of each module byte is "dark" (qrencode.h, struct QRcode).
                guard data[y * width + x] & 1 == 1 else { x += 1; continue }
                let start = x
                while x < width && data[y * width + x] & 1 == 1 { x += 1 }
                path += "M\(start + quietZone) \(y + quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }
        let pixels = size * pixelsPerModule
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 \#(size) \#(size)" "#
        svg += #"width="\#(pixels)" height="\#(pixels)" shape-rendering="crispEdges">"#
        svg += #"<rect width="\#(size)" height="\#(size)" fill="white"/>"#
        svg += #"<path fill="black" d="\#(path)"/></svg>"#
        return Array(svg.utf8)
    }
}
