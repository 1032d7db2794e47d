import Attendance
import HTTP

/// Turns `Authorization: Bearer <access token>` into the Actor that ClassStore authorizes against.
/// Every failure is 401 `unauthorized`; the message says what to fix (missing header, wrong scheme,
/// expired token) without revealing which key or check failed beyond that.
struct Authentication {
    let signer: TokenSigner
    /// Wall-clock milliseconds, shared with the store so tests can move time for both.
    let clock: () -> Int64

    func actor(for request: HTTPRequest) -> Result<Actor, APIError> {
        let values = request.headerValues("Authorization")
        guard let header = values.first else {
            return .failure(.unauthorized("Missing Authorization header; send `Authorization: Bearer <access token>`"))
        }
        guard values.count == 1 else { return .failure(.unauthorized("Send exactly one Authorization header")) }
        guard let token = Self.bearerToken(header) else {
            return .failure(.unauthorized("The Authorization header must be `Bearer <access token>`"))
        }
        switch signer.verify(token, nowS: clock() / 1000) {
        case .success(let claims):
            return .success(Actor(claims: claims))
        case .failure(.expired):
            return .failure(.unauthorized("The access token has expired; get a new one"))
        case .failure(.notYetValid):
            return .failure(.unauthorized("The access token is not valid yet (iat or nbf is in the future)"))
        case .failure(.lifetimeTooLong):
            return .failure(.unauthorized("The access token's lifetime (exp - iat) is longer than this server accepts"))
        case .failure:
            return .failure(.unauthorized("The access token is not valid"))
        }
    }

    /// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1).
    static func bearerToken(_ header: String) -> String? {
        let trimmed = header.drop { $0 == " " || $0 == "\t" }
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let token = trimmed.dropFirst(7).drop { $0 == " " }
        let end = token.lastIndex { $0 != " " && $0 != "\t" }
        guard let end else { return nil }
        let result = token[...end]
        return result.contains(" ") ? nil : String(result)
    }
}
