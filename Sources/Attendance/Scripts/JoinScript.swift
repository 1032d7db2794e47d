/// join: records a student as joined (one `joined` event the first time) and, with a QR proof that
/// Swift already verified, checks in within the same atomic step. A re-join never renames: it only
/// counts `rejoins` in the record (audited for the first few, so re-joins cannot grow the audit trail
/// without bound).
/// ARGV: cid, sid, name ('' = none), now_ms, addr, method ('' or 'qr'), size_limit (students a class
/// without a roster admits).
/// Returns {status, at_ms (0 when none), unchanged (1 when the check-in was a repeat)}.
/// Errors: not_found, class_closed, not_on_roster, class_full <size_limit>.
enum JoinScript {
    static let source = LuaPrelude.source + #"""
local sid, name, now, addr, method = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local size_limit = tonumber(ARGV[7])
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not is_open(meta, now) then return redis.error_reply('class_closed') end
local roster = on_roster(sid)
if roster == false then return redis.error_reply('not_on_roster') end
local rec = load_record(sid)
if not rec.joined_at then
  if roster == nil and redis.call('SISMEMBER', KNOWN, sid) == 0 and redis.call('SCARD', KNOWN) >= size_limit then
    return redis.error_reply('class_full ' .. ARGV[7])
  end
  rec.joined_at = int(now)
  if name ~= '' then rec.name = name end
  save_record(sid, rec)
  redis.call('SADD', KNOWN, sid)
  emit(meta, sid, '"event":"joined","student_id":"' .. sid .. '","name":' .. str(rec.name) ..
    ',"status":"' .. status_of(rec) .. '","at_ms":' .. int(now))
  audit(now, sid, addr, 'join', sid, name)
else
  rec.rejoins = (tonumber(rec.rejoins) or 0) + 1
  save_record(sid, rec)
  if rec.rejoins <= 20 then audit(now, sid, addr, 'rejoin', sid, name) end
end
if method ~= '' then
  local status, at, unchanged = checkin(meta, sid, rec, now, method, addr)
  -- An excused student still joins; the refused check-in is not an error here.
  if status then return { status, at, unchanged } end
end
return { status_of(rec), tonumber(rec.at) or 0, 1 }
"""#
}
