/// Scripts on keys outside a class's slot (join codes, rate limits, failure counters): each touches one key only.
enum UtilityScripts {
    /// Fixed-window counter. KEYS: the counter. ARGV: window_ms.
    /// Returns {count in this window, ms until the window ends}. The expiry is set when missing
    /// rather than only on the first INCR, so a counter can never be left without one.
    static let rateLimit = #"""
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { n, ttl }
"""#

    /// Reads a counter without counting. KEYS: the counter. Returns {count (0 when absent), ms until
    /// the window ends}.
    static let failurePeek = #"""
return { tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1]) }
"""#

    /// Deletes a join code only while it still points at this class: after its expiry the same code
    /// may already belong to another open class. KEYS: the code key. ARGV: class id.
    static let releaseCode = #"""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""#
}
