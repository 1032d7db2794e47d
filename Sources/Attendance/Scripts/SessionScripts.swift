/// One-key scripts for accounts and sessions: a session family's hash (`att:sess:{<family>}`) or a user hash.
enum SessionScripts {
    /// Rotates a refresh token. KEYS: the family. ARGV: presented token hash, new token hash, idle ttl
    /// ms, longest school-account session ms (such a family expires that long after its creation,
    /// however often it is refreshed).
    /// Returns {'ok', user, role, name, created_ms} after storing the new hash (role and name are set
    /// only for a school-account session, whose identity lives in the family rather than in a local
    /// account); {'revoked'} when the family is gone (logged out, expired, revoked); {'reused'} when
    /// the presented token is not the family's current one — an older token of the family came back,
    /// so someone else holds a copy: the family is deleted.
    static let rotate = #"""
local current = redis.call('HGET', KEYS[1], 'cur')
if not current then return { 'revoked' } end
if current ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  return { 'reused' }
end
redis.call('HSET', KEYS[1], 'cur', ARGV[2])
local f = redis.call('HMGET', KEYS[1], 'user', 'role', 'name', 'created_ms')
if f[2] then
  redis.call('PEXPIREAT', KEYS[1], tonumber(f[4] or '0') + tonumber(ARGV[4]))
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return { 'ok', f[1], f[2] or '', f[3] or '', f[4] or '0' }
"""#

    /// Stores a user only if the id is free. KEYS: the user hash. ARGV: role, name, password hash,
    /// created ms. Returns 1, or 0 when the id exists.
    static let addUser = #"""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'role', ARGV[1], 'name', ARGV[2], 'pw', ARGV[3], 'disabled', '0', 'created_ms', ARGV[4])
return 1
"""#

    /// Disables an existing user (never creates a stub). KEYS: the user hash. Returns 1, or 0 when absent.
    static let disableUser = #"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'disabled', '1')
return 1
"""#
}
