#include <hiredis/hiredis.h>
#include <hiredis/async.h>
// hiredis' own adapters/libuv.h is deliberately not used: version 0.14 ignores poll errors, so a
// refused or reset connection is never noticed. RedisClient/LibuvBridge.swift replaces it.
