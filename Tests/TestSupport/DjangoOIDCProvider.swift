import Foundation
import Glibc

/// A real OpenID Connect provider from PyPI (django-oauth-toolkit, Tests/OIDCProvider/provider.py)
/// in its own process on a free loopback port: RS256 keys, PKCE required, a confidential client
/// `attendance`, users `ada` (staff) and `sam` (pupil). scripts/setup-oidc-provider.sh installs it
/// into var/oidc-venv; `python` runs that script when the venv is missing and answers nil only when
/// the install fails.
public final class DjangoOIDCProvider: @unchecked Sendable {
    public let port: Int
    public let issuer: String
    private let process: Process
    private let directory: String

    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
    static var script: String { root + "/Tests/OIDCProvider/provider.py" }

    /// The venv's python with the provider installed, or nil with the installer's complaint.
    public static func python() -> (path: String?, problem: String) {
        let path = root + "/var/oidc-venv/bin/python"
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: "/bin/bash")
        setup.arguments = [root + "/scripts/setup-oidc-provider.sh"]
        let err = Pipe()
        setup.standardOutput = FileHandle.nullDevice
        setup.standardError = err
        do { try setup.run() } catch { return (nil, "\(error)") }
        let complaint = err.fileHandleForReading.readDataToEndOfFile()
        setup.waitUntilExit()
        guard setup.terminationStatus == 0, FileManager.default.isExecutableFile(atPath: path) else {
            return (nil, String(decoding: complaint, as: UTF8.self).suffix(500).description)
        }
        return (path, "")
    }

    public init(python: String, redirectURI: String, clientSecret: String) throws {
        port = freeTCPPort()
        directory = NSTemporaryDirectory() + "attendance-oidc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = Process()
        self.process = process
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.script, "serve", String(port), directory, redirectURI, clientSecret]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        // A file, not a pipe nobody reads: a chatty provider must never block on a full pipe.
        let logFile = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logFile)
        try process.run()
        // Migrating the database and generating keys take a few seconds, more on a loaded machine.
        let readyFile = directory + "/ready"
        let ready = waitUntil(timeout: 120) { !process.isRunning || FileManager.default.fileExists(atPath: readyFile) }
        guard ready, process.isRunning, let found = try? String(contentsOfFile: readyFile, encoding: .utf8) else {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let complaint = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            throw NSError(domain: "DjangoOIDCProvider", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "the provider did not start: \(complaint.suffix(1000))"])
        }
        issuer = found
    }

    /// Plays the browser (provider.py browse): signs in as `user` on the provider's login form and
    /// follows redirects from `authorizeURL` until one goes to `redirectPrefix`; that URL.
    public func browse(python: String, authorizeURL: String, user: String, password: String, redirectPrefix: String) throws -> String {
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: python)
        browser.arguments = [Self.script, "browse", authorizeURL, user, password, redirectPrefix]
        let out = Pipe(), err = Pipe()
        browser.standardOutput = out
        browser.standardError = err
        try browser.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let complaint = err.fileHandleForReading.readDataToEndOfFile()
        browser.waitUntilExit()
        guard browser.terminationStatus == 0 else {
            throw NSError(domain: "DjangoOIDCProvider", code: 2, userInfo: [NSLocalizedDescriptionKey:
                "browse failed: \(String(decoding: complaint, as: UTF8.self).suffix(1000))"])
        }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}
