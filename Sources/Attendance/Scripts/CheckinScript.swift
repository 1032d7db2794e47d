/// checkin: a student's check-in, the proof (QR or code) already verified in Swift.
/// ARGV: cid, sid, now_ms, method ('qr' | 'code'), addr, kid (the device key id whose signature
/// Swift verified, '' = unsigned), extra flags found in Swift (comma list, '' = none), offline_at
/// (an offline check-in's client_time_ms, '' otherwise; see `takes_checkin` in the prelude).
/// Returns {status, at_ms, unchanged (1 when nothing was written)}.
/// Errors: not_found, class_closed, code_checkin_disabled, not_on_roster, already_checked_in,
/// device_invalid, device_refused <flag>.
enum CheckinScript {
    static let source = LuaPrelude.source + #"""
local sid, now, method, addr = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local meta = load_meta()
if not meta then return redis.error_reply('not_found') end
if not takes_checkin(meta, now, ARGV[8]) then return redis.error_reply('class_closed') end
if method == 'code' and meta.allow_code ~= '1' then return redis.error_reply('code_checkin_disabled') end
local rec = load_record(sid)
local roster = on_roster(sid)
-- On a roster class the roster decides; on an open class the student must have joined first.
if roster == false or (roster == nil and not rec.joined_at) then return redis.error_reply('not_on_roster') end
local status, at, unchanged = checkin(meta, sid, rec, now, method, addr, ARGV[6], ARGV[7], ARGV[8])
if not status then return redis.error_reply(at) end
return { status, at, unchanged }
"""#
}
