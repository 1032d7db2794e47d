/// The teacher's answers to enrolment requests (`enrol_unknown: approve`, see JoinScript).
/// ARGV of both: cid, sid, now_ms, actor, owner ('' = admin), addr.
/// Errors: not_found (no class), forbidden, class_closed, no_request (nothing to answer for `sid`).
enum EnrolmentScripts {
    /// What both answers check first: the class exists, is the actor's and open, and `sid` has a request.
    private static let request = LuaPrelude.source + #"""
local sid, now, actor, owner, addr = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, owner) then return redis.error_reply('forbidden') end
if not is_open(meta, now) then return redis.error_reply('class_closed') end
local raw = redis.call('HGET', PENDING, sid)
if not raw then return redis.error_reply('no_request') end
local request = cjson.decode(raw)
"""#

    /// approve: puts a pending (or earlier denied) student on the roster; their next join succeeds.
    /// One `enrol_approved` event (teachers only). Returns the name the request carried ('' = none).
    static let approve = request + #"""
redis.call('HDEL', PENDING, sid)
if not request.denied then redis.call('HINCRBY', META, 'pending_n', -1) end
redis.call('SADD', ROSTER, sid)
redis.call('SADD', KNOWN, sid)
emit(meta, '!', '"event":"enrol_approved","student_id":"' .. sid .. '","name":' .. str(request.name) ..
  ',"at_ms":' .. int(now) .. ',"by":' .. str(actor))
audit(now, actor, addr, 'enrol_approve', sid, request.name)
return request.name or ''
"""#

    /// deny: refuses a pending request; the id's later joins answer like an id not on the roster.
    /// One `enrol_denied` event (teachers only); denying again changes nothing. Returns 1 when it
    /// changed something, 0 otherwise.
    static let deny = request + #"""
if request.denied then return 0 end
request.denied = 1
redis.call('HSET', PENDING, sid, cjson.encode(request))
redis.call('HINCRBY', META, 'pending_n', -1)
emit(meta, '!', '"event":"enrol_denied","student_id":"' .. sid .. '","at_ms":' .. int(now) .. ',"by":' .. str(actor))
audit(now, actor, addr, 'enrol_deny', sid, request.name)
return 1
"""#

    /// pending: the requests still waiting. ARGV: owner. Returns {sid, name, at_ms, …} oldest first.
    /// Errors: not_found, forbidden.
    static let pending = LuaPrelude.source + #"""
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, ARGV[1]) then return redis.error_reply('forbidden') end
local rows = {}
local flat = redis.call('HGETALL', PENDING)
for i = 1, #flat, 2 do
  local request = cjson.decode(flat[i + 1])
  if not request.denied then rows[#rows + 1] = { flat[i], request.name or '', request.at } end
end
table.sort(rows, function(a, b) if a[3] ~= b[3] then return tonumber(a[3]) < tonumber(b[3]) end return a[1] < b[1] end)
local out = {}
for _, row in ipairs(rows) do out[#out + 1], out[#out + 2], out[#out + 3] = row[1], row[2], row[3] end
return out
"""#
}
