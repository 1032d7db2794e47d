/// Lua shared by every class script, prepended to each one's source.
///
/// Conventions (every write script keeps to them):
/// - KEYS are `Keys.classKeys(cid)`: meta, roster, students, known, events, audit, pending. The live channel
///   is derived from the class id (channels are not keys).
/// - All validation happens before the first write, so an error reply never leaves a half-write.
///   Domain errors are `redis.error_reply("<protocol code> [detail]")`, mapped in AttendanceError.
/// - Times come from the caller (`now_ms`, the process clock the QR check used as well); only stream
///   ids come from `TIME`, made strictly increasing per class as max(TIME, last id + 1 seq) with
///   `last_id` kept in the meta hash (and, should the stream be ahead of it, the stream's own last
///   id), so an event's offset can be written into the event's own JSON before XADD and a server
///   whose clock is behind (after a fail-over) still produces increasing offsets.
/// - Student records are JSON objects in the `students` hash; millisecond values are stored as
///   strings because cjson prints numbers with 14 significant digits.
/// - Event JSON is built by concatenation in the fixed field order of PROTOCOL.md's hub → client
///   event (`EventHeader` relies on it); free text goes through cjson.encode.
enum LuaPrelude {
    static let source = #"""
local META, ROSTER, STUDENTS, KNOWN, EVENTS, AUDIT, PENDING = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]

local function int(n) return string.format('%d', n) end
local function str(s) if s == nil or s == false or s == '' then return 'null' end return cjson.encode(s) end

local function load_meta()
  local m = redis.call('HMGET', META, 'class_id', 'state', 'closes_at_ms', 'teacher_id', 'start_ms',
                       'late_after_s', 'allow_code', 'last_id', 'code', 'device_policy', 'enrol_unknown', 'pending_n')
  if not m[1] then return nil end
  return { cid = m[1], state = m[2], closes_at = tonumber(m[3]), teacher = m[4], start = tonumber(m[5]),
           late_after = tonumber(m[6]), allow_code = m[7], last_id = m[8], code = m[9], device_policy = m[10],
           enrol_unknown = m[11], pending_n = tonumber(m[12]) or 0 }
end

-- A class past its duration is closed for check-ins even before the sweep has formally closed it.
local function is_open(meta, now) return meta.state == 'open' and now < meta.closes_at end

-- Whether a check-in is taken now: the class is open or, for an offline check-in (offline_at is its
-- client_time_ms, '' when online), it ended less than ClassStore.offlineCloseGraceMs ago.
local function takes_checkin(meta, now, offline_at)
  if is_open(meta, now) then return true end
  if offline_at == nil or offline_at == '' then return false end
  local ended = meta.closes_at
  local closed = tonumber(redis.call('HGET', META, 'closed_at_ms'))
  if closed and closed < ended then ended = closed end
  return now < ended + \#(ClassStore.offlineCloseGraceMs)
end

-- '' means "no ownership check" (admins and the system); otherwise it must be the class's teacher.
local function owns(meta, owner) return owner == '' or owner == meta.teacher end

local function load_record(sid)
  local raw = redis.call('HGET', STUDENTS, sid)
  if raw then return cjson.decode(raw) end
  return {}
end

local function save_record(sid, rec) redis.call('HSET', STUDENTS, sid, cjson.encode(rec)) end

local function status_of(rec) return rec.status or 'unmarked' end

local function on_roster(sid)
  if redis.call('SCARD', ROSTER) == 0 then return nil end
  return redis.call('SISMEMBER', ROSTER, sid) == 1
end

local id_ms, id_seq
local function next_id(meta)
  if id_ms == nil then
    local t = redis.call('TIME')
    local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local seq = 0
    if meta.last_id then
      local lms, lseq = string.match(meta.last_id, '^(%d+)%-(%d+)$')
      lms, lseq = tonumber(lms), tonumber(lseq)
      if ms <= lms then ms, seq = lms, lseq + 1 end
    end
    id_ms, id_seq = ms, seq
  else
    id_seq = id_seq + 1
  end
  return int(id_ms) .. '-' .. int(id_seq)
end

-- The id XADD generated last in the stream (it may be past meta.last_id when the events came from
-- a server whose clock was ahead, or meta was rebuilt).
local function stream_last_id()
  local info = redis.call('XINFO', 'STREAM', EVENTS)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return info[i + 1] end
  end
end

-- Appends one event to the stream and publishes the very same bytes; returns its offset.
local function emit(meta, sid, body)
  local id = next_id(meta)
  local json = '{"type":"event","class_id":"' .. meta.cid .. '","offset":"' .. id .. '",' .. body .. '}'
  local added = redis.pcall('XADD', EVENTS, id, 'e', json, 's', sid or '')
  if type(added) == 'table' and added.err then
    -- Offsets must keep increasing even when this server's clock is behind the stream's last id
    -- (a fail-over to a replica whose clock is behind): continue after the stream's own last id.
    meta.last_id, id_ms = stream_last_id(), nil
    id = next_id(meta)
    json = '{"type":"event","class_id":"' .. meta.cid .. '","offset":"' .. id .. '",' .. body .. '}'
    redis.call('XADD', EVENTS, id, 'e', json, 's', sid or '')
  end
  redis.call('SPUBLISH', 'att:{' .. meta.cid .. '}:live', json)
  redis.call('HSET', META, 'last_id', id)
  meta.last_id = id
  return id
end

local function audit(now, actor, addr, action, sid, detail)
  redis.call('XADD', AUDIT, '*', 'at_ms', int(now), 'actor', actor, 'addr', addr, 'action', action,
             'student_id', sid or '', 'detail', detail or '')
end

local function emit_status_changed(meta, sid, rec, now, by, method)
  return emit(meta, sid, '"event":"status_changed","student_id":"' .. sid .. '","status":"' .. rec.status ..
    '","at_ms":' .. int(now) .. ',"by":' .. str(by) .. ',"method":"' .. method .. '"')
end

-- Sets a teacher-decided status; returns whether anything changed (and emitted an event).
-- Resetting to `unmarked` also forgets an earlier check-in, so the student can check in afresh.
local function set_status(meta, sid, rec, status, now, by, method)
  if status_of(rec) == status then return false end
  rec.status, rec.at, rec.method, rec.by = status, int(now), method, by
  if status == 'unmarked' then rec.at, rec.method, rec.ci_status, rec.ci_at = nil, nil, nil, nil end
  save_record(sid, rec)
  emit_status_changed(meta, sid, rec, now, by, method)
  return true
end

-- The check-in rule. A first check-in turns `unmarked` or `absent` into present/late: a teacher
-- who marked someone absent before they walked in expects the late arrival to count. A status the
-- teacher set explicitly otherwise stands: `present`/`late` are answered as they are, `excused`
-- refuses (already_checked_in). A repeat returns the first check-in's result and writes nothing.
-- The device flags of a check-in (PROTOCOL.md "Device binding"). kid: the key id whose signature
-- Swift verified ('' = unsigned); extra: a comma list of flags Swift found (late_delivery,
-- stale_qr). The key -> student map lives in the meta hash as `dev:<kid>` fields (at most one per
-- student), so every device check stays within the class's slot.
-- Returns the flags as a comma list ('' = none), or nil and an error reply text.
local function device_flags(meta, sid, rec, kid, extra)
  local flags, refusable = {}, nil
  local function add(flag, refuse)
    flags[#flags + 1] = flag
    if refuse and not refusable then refusable = flag end
  end
  if kid == '' then
    if rec.dkid then add('unsigned', true) end
  else
    -- The key was reset or replaced between Swift's read and this script.
    if rec.dkid ~= kid then return nil, 'device_invalid' end
    local owner = redis.call('HGET', META, 'dev:' .. kid)
    if owner and owner ~= sid then add('shared_device', true) end
  end
  if rec.dnew then add('new_device', true) end
  for flag in string.gmatch(extra, '[%a_]+') do add(flag, false) end
  if refusable and meta.device_policy == 'refuse' then return nil, 'device_refused ' .. refusable end
  return table.concat(flags, ',')
end

-- Returns status, at_ms, repeated, or nil and an error code. kid and extra: see device_flags.
-- offline_at: an offline check-in's client_time_ms ('' otherwise); it decides present/late (the
-- scan happened then) and is kept in the record as `ct`; at_ms stays the arrival.
local function checkin(meta, sid, rec, now, method, addr, kid, extra, offline_at)
  if rec.ci_status then return rec.ci_status, tonumber(rec.ci_at), 1 end
  local current = status_of(rec)
  if current == 'excused' then return nil, 'already_checked_in' end
  if current == 'present' or current == 'late' then return current, tonumber(rec.at) or now, 1 end
  local flags, refused = device_flags(meta, sid, rec, kid, extra)
  if not flags then return nil, refused end
  local status, scanned = 'present', now
  rec.ct = nil
  if offline_at and offline_at ~= '' then scanned, rec.ct = tonumber(offline_at), offline_at end
  if scanned >= meta.start + meta.late_after * 1000 then status = 'late' end
  rec.status, rec.at, rec.method, rec.by = status, int(now), method, nil
  rec.ci_status, rec.ci_at = status, int(now)
  rec.dnew = nil
  if flags ~= '' then rec.flags = flags else rec.flags = nil end
  if kid ~= '' then rec.device = kid else rec.device = nil end
  save_record(sid, rec)
  redis.call('SADD', KNOWN, sid)
  local tail = ''
  if flags ~= '' then tail = ',"flags":["' .. string.gsub(flags, ',', '","') .. '"]' end
  if kid ~= '' then tail = tail .. ',"device":"' .. kid .. '"' end
  if rec.ct then tail = tail .. ',"client_time_ms":' .. rec.ct end
  emit(meta, sid, '"event":"checked_in","student_id":"' .. sid .. '","status":"' .. status ..
    '","at_ms":' .. int(now) .. ',"method":"' .. method .. '"' .. tail)
  audit(now, sid, addr, 'checkin', sid, method .. ' ' .. status .. (flags ~= '' and (' ' .. flags) or ''))
  return status, now, 0
end

"""#
}
