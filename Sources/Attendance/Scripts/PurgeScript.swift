/// purge: deletes a class that has been closed for the whole retention period. Everything of the
/// class goes except its audit stream, which is trimmed to one final `purge` entry: the tombstone
/// that says the class existed, when it closed, who purged it and how much was removed. The older
/// audit entries name students and their addresses, so they share the record's retention.
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
local students, events, audits = redis.call('SCARD', KNOWN), redis.call('XLEN', EVENTS), redis.call('XLEN', AUDIT)
redis.call('DEL', META, ROSTER, STUDENTS, KNOWN, EVENTS)
redis.call('XTRIM', AUDIT, 'MAXLEN', 0)
audit(now, actor, addr, 'purge', nil, 'closed_at_ms ' .. int(closed_at) .. ' teacher ' .. (m[4] or '') ..
      ' students ' .. students .. ' events ' .. events .. ' audit ' .. audits)
return { 'purged', int(closed_at), m[3] or '' }
"""#
}
