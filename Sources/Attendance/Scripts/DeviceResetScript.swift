/// device_reset: the teacher forgets a student's bound device key (a lost or replaced phone), so the
/// next key the student registers binds afresh. Audited; no event (nothing in the attendance
/// record changes, and clients need not know a student's device).
/// ARGV: cid, sid, now_ms, actor, owner ('' = admin), addr.
/// Returns the key id that was bound ('' when none). Errors: not_found, forbidden, not_on_roster.
enum DeviceResetScript {
    static let source = LuaPrelude.source + #"""
local sid, now, actor, owner, addr = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, owner) then return redis.error_reply('forbidden') end
if redis.call('SISMEMBER', KNOWN, sid) == 0 then return redis.error_reply('not_on_roster') end
local rec = load_record(sid)
local kid = rec.dkid
if not kid then return '' end
if redis.call('HGET', META, 'dev:' .. kid) == sid then redis.call('HDEL', META, 'dev:' .. kid) end
rec.dkid, rec.dkey, rec.dnew = nil, nil, nil
save_record(sid, rec)
audit(now, actor, addr, 'device_reset', sid, kid)
return kid
"""#
}
