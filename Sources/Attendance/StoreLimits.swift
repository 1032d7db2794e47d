/// The limits the store enforces for every process that uses it (hub and api share them through
/// Redis). Successes are not limited per address: a whole school behind one NAT address joins and
/// checks in at once. Failures are, because only a guesser fails often.
public struct StoreLimits: Sendable, Equatable {
    /// Failed attempts (wrong join codes, bad or expired QR and link tokens, students not on the
    /// roster) one source address may make per window before every attempt from it answers
    /// `rate_limited`. Ten covers a class's typos; a guesser gets ten tries of a million codes a
    /// minute. nil turns counting off (tests that share one loopback address).
    public var failuresPerAddress: Int? = 10
    /// The fixed window failures are counted in.
    public var failureWindowS = 60
    /// Students a class without a roster admits: bounds what one leaked code can add to a class
    /// (every snapshot, close and export is linear in it). Rosters have their own bound.
    public var classSizeLimit = 2000
    /// Failed logins one account may collect per `loginFailureWindowS` before every login to it
    /// answers `rate_limited`, wherever the attempts come from: ten covers typos, while a guesser
    /// spread over many addresses gets 960 guesses a day. nil turns it off.
    public var loginFailuresPerAccount: Int? = 10
    public var loginFailureWindowS = 900
    /// Where check-ins may come from in classes that set no `allowed_networks` of their own; empty:
    /// anywhere.
    public var allowedNetworks: [CIDR] = []

    public init() {}
}
