import Attendance
import Foundation
import HTTP

/// The web pages' files (`Sources/API/Pages`, copied into the package's resource bundle), read once
/// at start with their content type and an ETag, so a request costs a dictionary lookup and a
/// revalidation costs a 304 without a body.
struct PageAssets: Sendable {
    struct File: Sendable {
        let body: [UInt8]
        let contentType: String
        /// A strong validator: the first 16 bytes of the SHA-256 of the body, quoted.
        let etag: String
    }

    /// Keyed by file name (`teacher.html`, `style.css`, …).
    let files: [String: File]

    /// The files a page may load, in the resource folder. A name outside this list is never served,
    /// whatever else lies in the folder.
    static let names = [
        "teacher.html", "student.html", "style.css", "sw.js",
        "teacher.js", "teacher-session.js", "teacher-classes.js", "teacher-live.js", "teacher-roster.js",
        "teacher-projector.js", "student.js", "student-device.js", "student-outbox.js", "student-scan.js",
        "student-account.js", "sso-errors.js",
    ]

    /// Reads every file of `names` from the bundle. `teacher.html` names the hub's URL in a meta
    /// element; the configured value is written into it here, escaped for an attribute.
    static func load(hubURL: String) -> PageAssets {
        guard let folder = Bundle.module.url(forResource: "Pages", withExtension: nil) else {
            preconditionFailure("the web pages are missing from the package's resources (Sources/API/Pages)")
        }
        var files: [String: File] = [:]
        for name in names {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else {
                preconditionFailure("web page file missing from the package's resources: \(name)")
            }
            var body = [UInt8](data)
            if name == "teacher.html" {
                let text = String(decoding: body, as: UTF8.self)
                body = Array(text.replacingOccurrences(of: "{{hub_url}}", with: PageEscaping.html(hubURL)).utf8)
            }
            let digest = Crypto.sha256(body).prefix(16)
            files[name] = File(body: body, contentType: contentType(of: name),
                               etag: "\"" + Base64URL.encode(digest) + "\"")
        }
        return PageAssets(files: files)
    }

    static func contentType(of name: String) -> String {
        if name.hasSuffix(".html") { return "text/html; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        return "application/octet-stream"
    }
}
