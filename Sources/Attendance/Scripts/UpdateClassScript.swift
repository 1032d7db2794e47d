/// update_class: changes an open class's settings (`PATCH /v1/classes/{id}`), validated in Swift.
/// ARGV: cid, now_ms, actor, owner ('' = admin), addr, then field/value pairs among device_policy,
/// join_requires, enrol_unknown, allowed_networks (comma list, '' = none: the site's default).
/// Returns 1. Errors: not_found, forbidden, class_closed. No event: settings are not attendance.
enum UpdateClassScript {
    static let source = LuaPrelude.source + #"""
local now, actor, owner, addr = tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not owns(meta, owner) then return redis.error_reply('forbidden') end
if not is_open(meta, now) then return redis.error_reply('class_closed') end
local changes = {}
for i = 6, #ARGV, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  if value == '' then redis.call('HDEL', META, field) else redis.call('HSET', META, field, value) end
  changes[#changes + 1] = field .. '=' .. value
end
audit(now, actor, addr, 'settings', nil, table.concat(changes, ' '))
return 1
"""#
}
