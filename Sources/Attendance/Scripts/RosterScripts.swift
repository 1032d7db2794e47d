/// One-slot scripts of the roster import. Each replaces what it writes whole, so a re-import of the
/// same bundle changes nothing and a crash half-way is completed by importing again.
enum RosterScripts {
    /// KEYS: the person hash. ARGV: role, given, family, name, email, username, identifier, sso_id, now_ms.
    static let person = #"""
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'role', ARGV[1], 'given', ARGV[2], 'family', ARGV[3], 'name', ARGV[4], 'email', ARGV[5],
           'username', ARGV[6], 'identifier', ARGV[7], 'sso_id', ARGV[8], 'imported_ms', ARGV[9])
return 1
"""#

    /// KEYS: the course hash, its roster set. ARGV: title, teacher, class code, school, school number,
    /// term title, school year, late_after_s, duration_s, now_ms, student ids…
    static let course = #"""
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'title', ARGV[1], 'teacher', ARGV[2], 'code', ARGV[3], 'school', ARGV[4],
           'school_number', ARGV[5], 'term', ARGV[6], 'school_year', ARGV[7], 'late_after_s', ARGV[8],
           'duration_s', ARGV[9], 'imported_ms', ARGV[10], 'status', 'active')
-- Chunks keep unpack() below Lua's C stack limit for large rosters.
local i = 11
while i <= #ARGV do
  local last = math.min(i + 499, #ARGV)
  redis.call('SADD', KEYS[2], unpack(ARGV, i, last))
  i = last + 1
end
return 1
"""#

    /// KEYS: the course hash, its roster set. Returns 1 when an active course became inactive.
    static let deactivateCourse = #"""
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'inactive')
redis.call('DEL', KEYS[2])
return 1
"""#

    /// KEYS: the course hash, its roster set. Returns {hash as a flat list, roster members}.
    static let readCourse = #"""
return { redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[2]) }
"""#
}
