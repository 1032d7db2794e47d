import ArgumentParser
import Attendance
import Foundation
import HTTP

/// Sign-in with a school account (`oidc.*`): off unless an issuer is configured. The client secret
/// has no flag, so it never shows in a process list: env ATTENDANCE_OIDC_CLIENT_SECRET or the config file.
struct OIDCOptions: ParsableArguments {
    @Option(help: "OpenID Connect issuer of the school's identity provider; turns on school-account sign-in (env ATTENDANCE_OIDC_ISSUER, config `oidc.issuer`).")
    var oidcIssuer: String?

    @Option(help: "Client id registered with the provider (env ATTENDANCE_OIDC_CLIENT_ID, config `oidc.client_id`).")
    var oidcClientId: String?

    @Option(help: "Callback URL registered with the provider (env ATTENDANCE_OIDC_REDIRECT_URL, config `oidc.redirect_url`; default <public URL>/v1/auth/oidc/callback).")
    var oidcRedirectUrl: String?

    @Option(help: "id_token claim that is the teacher or student id (env ATTENDANCE_OIDC_ID_CLAIM, config `oidc.id_claim`; default email).")
    var oidcIdClaim: String?

    @Option(help: "id_token claim whose values make teachers and admins, e.g. groups (env ATTENDANCE_OIDC_ROLE_CLAIM, config `oidc.role_claim`).")
    var oidcRoleClaim: String?

    @Option(help: "Comma-separated role-claim values that make a teacher (env ATTENDANCE_OIDC_TEACHER_VALUES, config `oidc.teacher_values`).")
    var oidcTeacherValues: String?

    @Option(help: "Comma-separated role-claim values that make an admin (env ATTENDANCE_OIDC_ADMIN_VALUES, config `oidc.admin_values`).")
    var oidcAdminValues: String?

    @Option(help: "File of `id teacher|admin` lines: who may sign in as staff, whatever the role claim says (env ATTENDANCE_OIDC_ALLOW_LIST, config `oidc.allow_list`).")
    var oidcAllowList: String?

    @Option(help: "PEM file of CAs trusted for the provider's HTTPS instead of the system store (env ATTENDANCE_OIDC_CA_FILE, config `oidc.ca_file`).")
    var oidcCaFile: String?

    /// The settings, nil when no issuer is configured; a ValidationError names what is missing or wrong.
    func settings(_ settings: Settings, publicURL: String?) throws -> OIDCSettings? {
        func value(_ flag: String?, _ name: String) -> String? {
            settings.value(flag: flag, env: "ATTENDANCE_OIDC_\(name.uppercased())", key: "oidc.\(name)")
        }
        guard let issuer = value(oidcIssuer, "issuer") else { return nil }
        guard OIDCDiscovery.isAllowedURL(issuer), OutboundURL(issuer) != nil else {
            throw ValidationError("oidc.issuer must be an https:// URL (http:// only for a provider on this machine)")
        }
        guard let clientId = value(oidcClientId, "client_id") else { throw ValidationError("oidc.issuer is set but oidc.client_id is not") }
        var base = Substring(publicURL ?? "")
        while base.hasSuffix("/") { base = base.dropLast() }
        guard let redirect = value(oidcRedirectUrl, "redirect_url") ?? (publicURL == nil ? nil : base + "/v1/auth/oidc/callback") else {
            throw ValidationError("oidc.redirect_url (or api.public_url) must be set for school-account sign-in")
        }
        guard redirect.hasPrefix("https://") || redirect.hasPrefix("http://"), redirect.hasSuffix("/v1/auth/oidc/callback") else {
            throw ValidationError("oidc.redirect_url must be this server's http(s)://…/v1/auth/oidc/callback")
        }
        var result = OIDCSettings(issuer: issuer, clientId: clientId, redirectURL: redirect)
        result.clientSecret = value(nil, "client_secret")
        if let claim = value(oidcIdClaim, "id_claim") { result.idClaim = claim }
        result.roleClaim = value(oidcRoleClaim, "role_claim")
        func list(_ text: String?) -> Set<String> {
            Set((text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        result.teacherValues = list(value(oidcTeacherValues, "teacher_values"))
        result.adminValues = list(value(oidcAdminValues, "admin_values"))
        if let path = value(oidcAllowList, "allow_list") {
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ValidationError("oidc.allow_list \(path) cannot be read: \(error.localizedDescription)")
            }
            do { result.allowList = try OIDCSettings.parseAllowList(text) } catch {
                throw ValidationError("oidc.allow_list \(path): \(error)")
            }
        }
        if let caFile = value(oidcCaFile, "ca_file") {
            guard TLSClientContext(caFile: caFile) != nil else { throw ValidationError("oidc.ca_file \(caFile) cannot be loaded as PEM certificates") }
            result.caFile = caFile
        }
        return result
    }
}
