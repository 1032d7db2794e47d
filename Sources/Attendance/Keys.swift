/// Redis key layout. Every key of a class carries the hash tag `{<class_id>}` so a class lives in one
/// Redis Cluster slot and one Lua script may touch all of it. Class ids cannot contain braces
/// (see `Identifier`), so the tag is always exactly the class id.
///
/// | key | type | what |
/// |---|---|---|
/// | `att:{cid}:meta` | hash | class fields, `state` (open/closed), `last_id` of the event stream, `dev:<key id>` → student id of each bound device key |
/// | `att:{cid}:roster` | set | student ids on the roster (empty: anyone with the code may join) |
/// | `att:{cid}:students` | hash | student id → JSON record of every roster or joined student that has one |
/// | `att:{cid}:known` | set | roster ∪ joined: who appears in snapshots and exports |
/// | `att:{cid}:events` | stream | the class's events, field `e` = event JSON, `s` = student id or "" |
/// | `att:{cid}:audit` | stream | who did what, when, from which address |
/// | `att:{cid}:pending` | hash | student id → JSON `{name, at, denied?}` of an unknown student's enrolment request (`enrol_unknown: approve`) |
/// | `att:{cid}:purged` | hash | tombstone of a purged class (the only key it leaves) |
/// | `att:{cid}:live` | shard channel | the same event bytes, SPUBLISHed as they are appended (same slot as the class) |
/// | `att:code:<6 digits>` | string | join code → class id, while the class is open |
/// | `att:closing` | zset | open class ids by `closes_at_ms`, for the auto-close sweep |
/// | `att:retained` | zset | closed class ids by close time, for the retention purge |
/// | `att:rl:<scope>:<key>` | string | rate-limit counter for one window (class creations per teacher) |
/// | `att:fail:<address>` | string | failed attempts from one source address (IPv6: its /64) in this window |
/// | `att:user:<id>` | hash | a local account: `role`, `name`, `pw` (PasswordHash), `disabled` 0/1, `created_ms` |
/// | `att:lfail:<id>` | string | failed logins to one account in this window |
/// | `att:sess:{<family>}` | hash | a refresh token family: `user`, `cur` (SHA-256 of the current token), `created_ms`; expires when idle |
/// | `att:mine:<teacher id>` | zset | the teacher's class ids by start time (the latest `ClassStore.mineLimit`) |
///
/// All but the first nine are global keys, each written by its own command or one-key script: a
/// script in Redis Cluster may only touch keys of one slot, and a counter, account, session or
/// teacher index belongs to an address or a person, not to a class. A session family's key carries
/// its id as hash tag so its rotation script is a one-slot script by construction.
public enum Keys {
    static func prefix(_ classId: String) -> String { "att:{\(classId)}:" }

    public static func meta(_ classId: String) -> String { prefix(classId) + "meta" }
    public static func roster(_ classId: String) -> String { prefix(classId) + "roster" }
    public static func students(_ classId: String) -> String { prefix(classId) + "students" }
    public static func known(_ classId: String) -> String { prefix(classId) + "known" }
    public static func events(_ classId: String) -> String { prefix(classId) + "events" }
    public static func audit(_ classId: String) -> String { prefix(classId) + "audit" }
    public static func pending(_ classId: String) -> String { prefix(classId) + "pending" }
    public static func purged(_ classId: String) -> String { prefix(classId) + "purged" }
    public static func live(_ classId: String) -> String { prefix(classId) + "live" }
    public static func code(_ code: String) -> String { "att:code:" + code }
    public static let closing = "att:closing"
    public static let retained = "att:retained"
    public static func rateLimit(scope: String, key: String) -> String { "att:rl:\(scope):\(key)" }
    public static func failures(address: String) -> String { "att:fail:" + SourceAddress.failureKey(address) }
    public static func user(_ id: String) -> String { "att:user:" + id }
    public static func loginFailures(_ id: String) -> String { "att:lfail:" + id }
    public static func session(family: String) -> String { "att:sess:{\(family)}" }
    public static func mine(_ teacherId: String) -> String { "att:mine:" + teacherId }
    /// A school-account sign-in waiting for its callback, by its `state`.
    static func signIn(_ state: String) -> String { "att:oidc:" + state }

    /// The class id in a meta key (`att:{cid}:meta`), as SCAN returns them.
    static func classId(ofMeta key: String) -> String? {
        guard key.hasPrefix("att:{"), key.hasSuffix("}:meta") else { return nil }
        return String(key.dropFirst(5).dropLast(6))
    }

    /// The keys every class script receives, in this order (the Lua prelude names them).
    static func classKeys(_ classId: String) -> [String] {
        [meta(classId), roster(classId), students(classId), known(classId), events(classId), audit(classId), pending(classId)]
    }
}

/// The shard channel carrying a class's live events (SPUBLISH; the hub SSUBSCRIBEs to it).
public func liveChannel(_ classId: String) -> String { Keys.live(classId) }

/// The stream holding a class's event log (the hub replays from it).
public func eventsKey(_ classId: String) -> String { Keys.events(classId) }
