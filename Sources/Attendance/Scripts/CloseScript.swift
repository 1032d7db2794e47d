/// close: every unmarked student (roster or joined) becomes absent — one status_changed event each —
/// then the class is closed with a class_closed event.
/// ARGV: cid, now_ms, actor, owner ('' = admin/system), addr.
/// Returns {closed_at_ms, marked_absent, code, offset}. Errors: not_found, forbidden, class_closed.
enum CloseScript {
    static let source = LuaPrelude.source + #"""
local now, actor, owner, addr = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, owner) then return redis.error_reply('forbidden') end
if meta.state ~= 'open' then return redis.error_reply('class_closed') end
local students = redis.call('SMEMBERS', KNOWN)
table.sort(students)
local marked = 0
for _, sid in ipairs(students) do
  local rec = load_record(sid)
  if status_of(rec) == 'unmarked' and set_status(meta, sid, rec, 'absent', now, actor, 'close') then
    marked = marked + 1
  end
end
redis.call('HSET', META, 'state', 'closed', 'closed_at_ms', int(now))
-- Enrolment requests name people who never joined: they go with the class session.
redis.call('DEL', PENDING)
redis.call('HDEL', META, 'pending_n')
local offset = emit(meta, nil, '"event":"class_closed","at_ms":' .. int(now) .. ',"by":' .. str(actor))
audit(now, actor, addr, 'close', nil, 'absent ' .. marked)
return { now, marked, meta.code or '', offset }
"""#
}
