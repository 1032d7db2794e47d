/// Read-only scripts: each reads a consistent view of one class in one step.
enum ReadScripts {
    /// snapshot: every roster or joined student, and the offset of the last event included in it.
    /// ARGV: owner ('' = no check), only_sid ('' = everyone).
    /// Returns {last_id ('0-0' before any event), state, then per student: sid, status, at_ms ('' when
    /// none), method, by, name, note, rejoins, flags (comma list), device, client_time_ms (offline check-ins, else '')}. Errors: not_found, forbidden.
    static let snapshot = LuaPrelude.source + #"""
local owner, only = ARGV[1], ARGV[2]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, owner) then return redis.error_reply('forbidden') end
local out = { meta.last_id or '0-0', meta.state }
local ids
if only ~= '' then
  ids = {}
  if redis.call('SISMEMBER', KNOWN, only) == 1 then ids[1] = only end
else
  ids = redis.call('SMEMBERS', KNOWN)
  table.sort(ids)
end
local all = {}
local flat = redis.call('HGETALL', STUDENTS)
for i = 1, #flat, 2 do all[flat[i]] = flat[i + 1] end
for _, sid in ipairs(ids) do
  local rec = {}
  if all[sid] then rec = cjson.decode(all[sid]) end
  local n = #out
  out[n + 1], out[n + 2], out[n + 3] = sid, status_of(rec), rec.at or ''
  out[n + 4], out[n + 5], out[n + 6], out[n + 7] = rec.method or '', rec.by or '', rec.name or '', rec.note or ''
  out[n + 8], out[n + 9], out[n + 10] = int(tonumber(rec.rejoins) or 0), rec.flags or '', rec.device or ''
  out[n + 11] = rec.ct or ''
end
return out
"""#

    /// info: the meta hash and the status counts.
    /// ARGV: owner ('' = no check). Returns {meta as a flat field/value list, {unmarked, present,
    /// late, absent, excused}, roster size}. Errors: not_found, forbidden.
    static let info = LuaPrelude.source + #"""
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, ARGV[1]) then return redis.error_reply('forbidden') end
local counts = { unmarked = 0, present = 0, late = 0, absent = 0, excused = 0 }
local all = {}
local flat = redis.call('HGETALL', STUDENTS)
for i = 1, #flat, 2 do all[flat[i]] = flat[i + 1] end
for _, sid in ipairs(redis.call('SMEMBERS', KNOWN)) do
  local status = 'unmarked'
  if all[sid] then status = status_of(cjson.decode(all[sid])) end
  counts[status] = counts[status] + 1
end
-- Without the device map (`dev:<kid>` fields, one per bound student).
local fields, m = {}, redis.call('HGETALL', META)
for i = 1, #m, 2 do
  if string.sub(m[i], 1, 4) ~= 'dev:' then fields[#fields + 1], fields[#fields + 2] = m[i], m[i + 1] end
end
return { fields,
         { counts.unmarked, counts.present, counts.late, counts.absent, counts.excused },
         redis.call('SCARD', ROSTER) }
"""#

    /// events: the log after an offset (exclusive), optionally only one student's events plus the
    /// class-wide ones. ARGV: owner, start ('-' or '(<ms>-<seq>'), count, only_sid ('' = all).
    /// Returns {last scanned id ('' when none), entries scanned, then id, json pairs}. The scanned id lets a filtered
    /// reader continue past entries it was not shown. Errors: not_found, forbidden.
    static let events = LuaPrelude.source + #"""
local owner, start, count, only = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, owner) then return redis.error_reply('forbidden') end
local entries = redis.call('XRANGE', EVENTS, start, '+', 'COUNT', count)
local out = { '', #entries }
for _, entry in ipairs(entries) do
  out[1] = entry[1]
  local fields = entry[2]
  local json, sid
  for i = 1, #fields, 2 do
    if fields[i] == 'e' then json = fields[i + 1] elseif fields[i] == 's' then sid = fields[i + 1] end
  end
  if only == '' or sid == '' or sid == only then
    out[#out + 1] = entry[1]
    out[#out + 1] = json
  end
end
return out
"""#
}
