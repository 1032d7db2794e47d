#include <hiredis/hiredis.h>
#include <hiredis/async.h>
// The libuv adapter is header-only with static functions; including it here makes
// redisLibuvAttach callable from Swift without a C wrapper (checked with hiredis 0.14).
#include <hiredis/adapters/libuv.h>
