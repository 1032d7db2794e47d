import JSON

/// The relying party's configuration (`oidc.*` settings, README "Configuration").
public struct OIDCSettings: Sendable, Equatable {
    /// The issuer identifier; `<issuer>/.well-known/openid-configuration` is the discovery document.
    public var issuer: String
    public var clientId: String
    /// With a secret the token request authenticates with client_secret_basic; without, the client
    /// is public and PKCE alone binds the code to this sign-in.
    public var clientSecret: String?
    /// Where the provider sends the browser back: this server's `/v1/auth/oidc/callback`, exactly
    /// as registered with the provider.
    public var redirectURL: String
    /// The id_token claim that is the teacher or student id (`email` by default).
    public var idClaim = "email"
    /// A claim (string or array of strings) whose values make a teacher or an admin.
    public var roleClaim: String?
    public var teacherValues: Set<String> = []
    public var adminValues: Set<String> = []
    /// `id role` lines (role teacher or admin), read at start-up; an id listed here is that role
    /// whatever the role claim says.
    public var allowList: [String: Role] = [:]
    /// A PEM file of CAs trusted for the provider's HTTPS (instead of the system store).
    public var caFile: String?

    public init(issuer: String, clientId: String, redirectURL: String) {
        self.issuer = issuer
        self.clientId = clientId
        self.redirectURL = redirectURL
    }

    /// Whether teachers can sign in with SSO: some rule can make someone a teacher or admin.
    public var teachersEnabled: Bool {
        !allowList.isEmpty || (roleClaim != nil && !(teacherValues.isEmpty && adminValues.isEmpty))
    }

    /// The staff role the id_token's claims give `id`, or nil when they make no teacher or admin.
    /// The allow list wins over the claim; admin wins over teacher.
    public func staffRole(id: String, claims: JSONObject) -> Role? {
        if let listed = allowList[id] { return listed }
        guard let roleClaim, let value = claims[roleClaim] else { return nil }
        let values: [String] = value.string.map { [$0] } ?? (value.array ?? []).compactMap(\.string)
        if values.contains(where: adminValues.contains) { return .admin }
        if values.contains(where: teacherValues.contains) { return .teacher }
        return nil
    }

    /// The mapped id from verified claims: `idClaim` as a string that is a valid identifier (an
    /// email such as `ada@school.example` is one).
    public func subjectId(claims: JSONObject) -> String? {
        guard let id = claims[idClaim]?.string, Identifier.isValid(id) else { return nil }
        // An email that the provider has not verified could be anybody's.
        if idClaim == "email", claims["email_verified"]?.bool == false { return nil }
        return id
    }

    /// Parses an allow-list file: `id role` per line, `#` comments, blank lines ignored.
    public static func parseAllowList(_ text: String) throws(OIDCSettingsError) -> [String: Role] {
        var list: [String: Role] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if words.isEmpty { continue }
            guard words.count == 2, Identifier.isValid(String(words[0])),
                  let role = Role(rawValue: String(words[1])), role != .student
            else { throw OIDCSettingsError("line \(number + 1): expected `id teacher` or `id admin`") }
            list[String(words[0])] = role
        }
        return list
    }
}

public struct OIDCSettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The parts of a discovery document (OpenID Connect Discovery §3) the code flow needs.
public struct OIDCDiscovery: Sendable, Equatable {
    public let authorizationEndpoint: String
    public let tokenEndpoint: String
    public let jwksURI: String

    /// Nil unless the document's `issuer` is exactly `issuer` (Discovery §4.3: otherwise anyone who
    /// can serve the document could name another issuer) and the endpoints are URLs the client may
    /// call (https, or http on a loopback host).
    public init?(json bytes: [UInt8], issuer: String) {
        guard let document = try? JSON.parse(bytes), document["issuer"]?.string == issuer,
              let authorization = document["authorization_endpoint"]?.string,
              let token = document["token_endpoint"]?.string,
              let jwks = document["jwks_uri"]?.string,
              [authorization, token, jwks].allSatisfy(Self.isAllowedURL)
        else { return nil }
        authorizationEndpoint = authorization
        tokenEndpoint = token
        jwksURI = jwks
    }

    /// https, or http to a loopback host (a provider on the same machine, as in tests).
    public static func isAllowedURL(_ url: String) -> Bool {
        if url.hasPrefix("https://") { return url.utf8.count > 8 }
        for host in ["http://127.0.0.1", "http://localhost", "http://[::1]"] where url.hasPrefix(host) {
            let rest = url.dropFirst(host.count)
            if rest.isEmpty || rest.hasPrefix(":") || rest.hasPrefix("/") { return true }
        }
        return false
    }
}
