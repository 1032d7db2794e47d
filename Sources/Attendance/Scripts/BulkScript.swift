/// bulk: the teacher sets one status for a list of students, or for every unmarked one.
/// ARGV: cid, status, now_ms, actor, owner ('' = admin), addr, mode ('list' | 'all_unmarked'), sids…
/// Returns the ids whose status changed, in id order (one status_changed event each).
/// Errors: not_found, forbidden, not_on_roster (an unknown id in the list; nothing is written).
enum BulkScript {
    static let source = LuaPrelude.source + #"""
local status, now, actor, owner, addr, mode = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, owner) then return redis.error_reply('forbidden') end
local targets = {}
if mode == 'all_unmarked' then
  targets = redis.call('SMEMBERS', KNOWN)
else
  for i = 8, #ARGV do
    if redis.call('SISMEMBER', KNOWN, ARGV[i]) == 0 then return redis.error_reply('not_on_roster ' .. ARGV[i]) end
    targets[#targets + 1] = ARGV[i]
  end
end
table.sort(targets)
local changed = {}
for _, sid in ipairs(targets) do
  local rec = load_record(sid)
  if mode ~= 'all_unmarked' or status_of(rec) == 'unmarked' then
    if set_status(meta, sid, rec, status, now, actor, 'bulk') then changed[#changed + 1] = sid end
  end
end
if #changed > 0 then audit(now, actor, addr, 'bulk', nil, status .. ' ' .. #changed) end
return changed
"""#
}
