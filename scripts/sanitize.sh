#!/usr/bin/env bash
# Runs the tests under the sanitizers, each in its own scratch path so the debug build stays as it is:
#   AddressSanitizer over every test (LeakSanitizer off: it reports XCTest's own allocations), and
#   ThreadSanitizer over the hub tests with every hub process running two workers.
# Usage: scripts/sanitize.sh [all|ci|asan|tsan]. `ci` leaves out of the ASan run the long end-to-end
# targets that only drive processes and sockets (FaultTests, LoadToolTests), to keep CI short.
# Hub processes the tests start inherit the sanitizer; their reports go to stderr, so the output is
# scanned for reports as well as the tests' own result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
what=${1:-all}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() { # name, then the command
  local name=$1; shift
  echo "== $name: $*"
  local started=$SECONDS
  if ! "$@" 2>&1 | tee -a "$log"; then echo "== $name FAILED"; exit 1; fi
  echo "== $name took $((SECONDS - started)) s"
}

if [[ $what == all || $what == ci || $what == asan ]]; then
  filter=()
  [[ $what == ci ]] && filter=(--skip FaultTests --skip LoadToolTests)
  run "asan build" swift build --build-tests --sanitize=address --scratch-path .build-asan
  ASAN_OPTIONS=detect_leaks=0 run "asan tests" swift test --skip-build --sanitize=address --scratch-path .build-asan "${filter[@]}"
fi
if [[ $what == all || $what == ci || $what == tsan ]]; then
  run "tsan build" swift build --build-tests --sanitize=thread --scratch-path .build-tsan
  # The hub reads ATTENDANCE_HUB_WORKERS, so every hub the tests start runs two event loops. One test
  # counts rooms per process, which two workers double (each has its own); it runs in `make test`.
  ATTENDANCE_HUB_WORKERS=2 run "tsan tests" swift test --skip-build --sanitize=thread --scratch-path .build-tsan \
    --filter HubTests --skip testPublishReachesExactlyTheClassSubscribersOnceInOrder
fi
if grep -E -q 'ERROR: AddressSanitizer|WARNING: ThreadSanitizer|SUMMARY: (Address|Thread)Sanitizer|runtime error:' "$log"; then
  echo "== sanitizer reports:"
  grep -E -A3 'ERROR: AddressSanitizer|WARNING: ThreadSanitizer|SUMMARY: (Address|Thread)Sanitizer|runtime error:' "$log" | head -100
  exit 1
fi
echo "== sanitizers clean ($what)"
