#!/usr/bin/env bash
# Runs the tests under the sanitizers, each in its own scratch path so the debug build stays as it is:
#   AddressSanitizer over every test (LeakSanitizer off: it reports XCTest's own allocations), and
#   ThreadSanitizer over the hub tests with every hub process running two workers.
# Usage: scripts/sanitize.sh [all|ci|asan|tsan]. `ci` is the ASan run less the long end-to-end
# targets that only drive processes and sockets, to keep CI under 12 minutes; TSan runs in `all`.
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
  if ! "$@" 2>&1 | tee -a "$log"; then echo "== $name FAILED"; return 1; fi
  echo "== $name took $((SECONDS - started)) s"
}

asan_filter=()
# The end-to-end targets only drive processes and sockets (the real OIDC provider test a Python
# server; the webhook, report and roster tests mostly api processes, receivers and bulk Redis data;
# the cluster and replica failover tests six and two redis-servers); the in-process code they reach
# is covered by the other targets. `all` runs them too.
[[ $what == ci ]] && asan_filter=(--skip FaultTests --skip LoadToolTests --skip OIDCProviderEndToEndTests
                                  --skip WebhookTests --skip ReportTests --skip SchoolRosterTests
                                  --skip ClusterClientTests --skip DurabilityTests)
asan_tests() {
  ASAN_OPTIONS=detect_leaks=0 swift test --skip-build --sanitize=address --scratch-path .build-asan ${asan_filter[@]+"${asan_filter[@]}"}
}
# The hub reads ATTENDANCE_HUB_WORKERS, so every hub the tests start runs two event loops. One test
# counts rooms per process, which two workers double (each has its own); it runs in `make test`.
tsan_tests() {
  ATTENDANCE_HUB_WORKERS=2 swift test --skip-build --sanitize=thread --scratch-path .build-tsan \
    --filter HubTests --skip testPublishReachesExactlyTheClassSubscribersOnceInOrder
}

if [[ $what == asan || $what == all || $what == ci ]]; then
  run "asan build" swift build --build-tests --sanitize=address --scratch-path .build-asan
  run "asan tests" asan_tests
fi
if [[ $what == tsan || $what == all ]]; then
  run "tsan build" swift build --build-tests --sanitize=thread --scratch-path .build-tsan
  run "tsan tests" tsan_tests
fi
if grep -E -q 'ERROR: AddressSanitizer|WARNING: ThreadSanitizer|SUMMARY: (Address|Thread)Sanitizer|runtime error:' "$log"; then
  echo "== sanitizer reports:"
  grep -E -A3 'ERROR: AddressSanitizer|WARNING: ThreadSanitizer|SUMMARY: (Address|Thread)Sanitizer|runtime error:' "$log" | head -100
  exit 1
fi
echo "== sanitizers clean ($what)"
