/// purge: deletes a class that has been closed for the whole retention period — every key,
/// including its audit stream, whose entries name students and their addresses and so share the
/// record's retention. What remains is a small tombstone hash (`Keys.purged`): that the class
/// existed, its teacher, when it closed, who purged it when and from where, and how much went.
/// (A one-entry stream would cost ~4.7 KB: Redis preallocates 4 KiB per stream node; the hash
/// costs ~0.2 KB, see docs/OPERATIONS.md.)
/// KEYS: the class keys, then the tombstone key.
/// ARGV: cid, now_ms, closed_before_ms (purge only if closed_at_ms <= this), actor, addr.
/// Returns {"purged", closed_at_ms, code} | {"retained", closed_at_ms} | {"open"} | {"gone"}.
enum PurgeScript {
    static let source = LuaPrelude.source + #"""
local now, cutoff, actor, addr = tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local m = redis.call('HMGET', META, 'state', 'closed_at_ms', 'code', 'teacher_id')
if not m[1] then return { 'gone' } end
if m[1] ~= 'closed' then return { 'open' } end
local closed_at = tonumber(m[2]) or 0
if closed_at > cutoff then return { 'retained', int(closed_at) } end
redis.call('HSET', KEYS[8], 'purged_at_ms', int(now), 'by', actor, 'addr', addr, 'closed_at_ms', int(closed_at),
           'teacher_id', m[4] or '', 'students', redis.call('SCARD', KNOWN), 'events', redis.call('XLEN', EVENTS),
           'audit_entries', redis.call('XLEN', AUDIT))
redis.call('DEL', META, ROSTER, STUDENTS, KNOWN, EVENTS, AUDIT, PENDING)
return { 'purged', int(closed_at), m[3] or '' }
"""#
}
