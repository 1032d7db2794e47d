/// create_class: writes a new class's meta hash and roster.
/// ARGV: cid, name, teacher_id, now_ms, late_after_s, duration_s, qr_period_s, allow_code (1/0),
///       code, addr, allowed networks (comma-separated, "" for none), device_policy ('flag' | 'refuse'),
///       join_requires ('code' | 'link'), enrol_unknown ('refuse' | 'approve'),
///       course_id ('' = none: not opened from an imported course), roster ids…
/// Returns {start_ms, closes_at_ms}. Errors: conflict (the class id exists).
enum CreateClassScript {
    static let source = LuaPrelude.source + #"""
local cid, name, teacher, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local duration = tonumber(ARGV[6])
if redis.call('EXISTS', META) == 1 then return redis.error_reply('conflict') end
local closes_at = now + duration * 1000
redis.call('HSET', META, 'class_id', cid, 'name', name, 'teacher_id', teacher, 'start_ms', int(now),
           'late_after_s', ARGV[5], 'duration_s', ARGV[6], 'qr_period_s', ARGV[7], 'allow_code', ARGV[8],
           'code', ARGV[9], 'device_policy', ARGV[12], 'join_requires', ARGV[13], 'enrol_unknown', ARGV[14], 'closes_at_ms', int(closes_at), 'state', 'open')
if ARGV[11] ~= '' then redis.call('HSET', META, 'allowed_networks', ARGV[11]) end
if ARGV[15] ~= '' then redis.call('HSET', META, 'course_id', ARGV[15]) end
-- Chunks keep unpack() below Lua's C stack limit for large rosters.
local i = 16
while i <= #ARGV do
  local last = math.min(i + 499, #ARGV)
  redis.call('SADD', ROSTER, unpack(ARGV, i, last))
  redis.call('SADD', KNOWN, unpack(ARGV, i, last))
  i = last + 1
end
audit(now, teacher, ARGV[10], 'create', nil, 'roster ' .. (#ARGV - 15))
return { now, closes_at }
"""#
}
