/// override: the teacher sets one student's status (and optionally a note).
/// ARGV: cid, sid, status, now_ms, actor, owner ('' = admin), addr, has_note (1/0), note.
/// Returns {status, at_ms (0 when none), changed (1/0)}. Errors: not_found, forbidden, not_on_roster.
/// Allowed on closed classes too: correcting the record after the session is a normal teacher task.
enum OverrideScript {
    static let source = LuaPrelude.source + #"""
local sid, status, now, actor, owner, addr = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, owner) then return redis.error_reply('forbidden') end
if redis.call('SISMEMBER', KNOWN, sid) == 0 then return redis.error_reply('not_on_roster') end
local rec = load_record(sid)
local previous = status_of(rec)
local changed = set_status(meta, sid, rec, status, now, actor, 'override')
local noted = ARGV[8] == '1' and rec.note ~= ARGV[9]
if noted then
  rec.note = ARGV[9]
  if rec.note == '' then rec.note = nil end
  save_record(sid, rec)
end
if changed or noted then audit(now, actor, addr, 'override', sid, previous .. ' -> ' .. status) end
return { status_of(rec), tonumber(rec.at) or 0, changed and 1 or 0 }
"""#
}
