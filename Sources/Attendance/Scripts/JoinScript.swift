/// join: records a student as joined (one `joined` event the first time) and, with a QR proof that
/// Swift already verified, checks in within the same atomic step. A re-join never renames: it only
/// counts `rejoins` in the record (audited for the first few, so re-joins cannot grow the audit trail
/// without bound).
/// ARGV: cid, sid, name ('' = none), now_ms, addr, method ('' or 'qr'), size_limit (students a class
/// without a roster admits), dkey (a device key, stored form, '' = none), dkid (its key id), extra
/// flags of the QR check-in (comma list), signed (1 when Swift verified the QR check-in's
/// device_sig with dkey), link_only ('1': the class requires personal links and this is a QR join,
/// so only a student who joined before may use it), offline_at (an offline QR join's client_time_ms,
/// '' otherwise: see `takes_checkin`).
/// A device key binds on the student's first key; another key later is `new_device` and one key
/// already bound to another student is `shared_device`: refused under the `refuse` policy, else
/// bound (the student's latest device signs from now on) and flagged on the next check-in.
/// Returns {status, at_ms (0 when none), unchanged (1 when the check-in was a repeat)}.
/// In a class with `enrol_unknown: approve`, an id not on the roster is queued instead (one
/// `enrol_requested` event, at most `ClassStore.pendingLimit` waiting) and {'pending', 0, 0|1} returned.
/// Errors: not_found, class_closed, not_on_roster, link_required, class_full <size_limit>,
/// device_refused <flag>, pending_full.
enum JoinScript {
    static let source = LuaPrelude.source + #"""
local sid, name, now, addr, method = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
local size_limit = tonumber(ARGV[7])
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not takes_checkin(meta, now, ARGV[13]) then return redis.error_reply('class_closed') end
local roster = on_roster(sid)
if roster == false then
  -- An `approve` class queues the unknown id for its teacher (not for a QR join in a class that
  -- admits new students only by personal link).
  if meta.enrol_unknown ~= 'approve' or ARGV[12] == '1' then return redis.error_reply('not_on_roster') end
  local raw = redis.call('HGET', PENDING, sid)
  if raw then
    if cjson.decode(raw).denied then return redis.error_reply('not_on_roster') end
    return { 'pending', 0, 1 }
  end
  if meta.pending_n >= \#(ClassStore.pendingLimit) or redis.call('HLEN', PENDING) >= \#(ClassStore.pendingLimit * 5) then
    return redis.error_reply('pending_full')
  end
  redis.call('HSET', PENDING, sid, cjson.encode({ name = ARGV[3], at = int(now) }))
  redis.call('HINCRBY', META, 'pending_n', 1)
  -- Stored with the student field '!', which no student's filter matches: teachers only.
  emit(meta, '!', '"event":"enrol_requested","student_id":"' .. sid .. '","name":' .. str(ARGV[3]) ..
    ',"at_ms":' .. int(now))
  audit(now, sid, addr, 'enrol_request', sid, ARGV[3])
  return { 'pending', 0, 0 }
end
local rec = load_record(sid)
if ARGV[12] == '1' and not rec.joined_at then return redis.error_reply('link_required') end
if not rec.joined_at and roster == nil and redis.call('SISMEMBER', KNOWN, sid) == 0
    and redis.call('SCARD', KNOWN) >= size_limit then
  return redis.error_reply('class_full ' .. ARGV[7])
end
local dkey, dkid, signed = ARGV[8], ARGV[9], ARGV[11] == '1'
local rebind = dkid ~= '' and rec.dkid ~= dkid
if rebind and meta.device_policy == 'refuse' then
  if rec.dkid then return redis.error_reply('device_refused new_device') end
  local owner = redis.call('HGET', META, 'dev:' .. dkid)
  if owner and owner ~= sid then return redis.error_reply('device_refused shared_device') end
end
if rebind then
  if rec.dkid then
    if redis.call('HGET', META, 'dev:' .. rec.dkid) == sid then redis.call('HDEL', META, 'dev:' .. rec.dkid) end
    rec.dnew = 1
  end
  rec.dkey, rec.dkid = dkey, dkid
  redis.call('HSETNX', META, 'dev:' .. dkid, sid)
  name = name .. ' device ' .. dkid
end
if not rec.joined_at then
  rec.joined_at = int(now)
  if ARGV[3] ~= '' then rec.name = ARGV[3] end
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
  local status, at, unchanged = checkin(meta, sid, rec, now, method, addr, signed and dkid or '', ARGV[10], ARGV[13])
  -- An excused student still joins; the refused check-in is not an error here.
  if status then return { status, at, unchanged } end
end
return { status_of(rec), tonumber(rec.at) or 0, 1 }
"""#
}
