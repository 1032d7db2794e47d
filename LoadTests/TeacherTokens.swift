import ArgumentParser
import Attendance
import EventLoop

/// Mints teacher access tokens the way `attendance token --role teacher` does, so a run needs no IdP;
/// students get theirs from POST /v1/join like real devices.
struct TeacherTokens {
    let signer: TokenSigner

    /// `secret`, or `kid=secret[,kid=secret…]` as ATTENDANCE_JWT_SECRET allows (the first key signs).
    init(secretSpec: String) throws {
        guard !secretSpec.isEmpty else { throw ValidationError("--token-secret must not be empty") }
        if secretSpec.contains("=") {
            let first = secretSpec.split(separator: ",")[0].split(separator: "=", maxSplits: 1)
            guard first.count == 2, !first[0].isEmpty, !first[1].isEmpty else {
                throw ValidationError("--token-secret: expected `secret` or `kid=secret[,kid=secret…]`")
            }
            signer = TokenSigner(secret: String(first[1]), kid: String(first[0]))
        } else {
            signer = TokenSigner(secret: secretSpec)
        }
    }

    /// A teacher token valid for `ttlS` seconds.
    func teacher(_ id: String, ttlS: Int64) -> String {
        let now = EventLoop.wallClockMs() / 1000
        return signer.sign(AccessClaims(sub: id, role: .teacher, iat: now, exp: now + ttlS))
    }
}
