#!/usr/bin/env bash
# Builds and runs every test against a redis-server started here on a free port, stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no --daemonize no --loglevel warning &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; wait $redis_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export ATTENDANCE_TEST_REDIS_PORT=$port
swift build --build-tests
swift test --skip-build "$@"
# The pages in a real browser (Tests/Browser): Playwright drives Debian's chromium against its own
# redis, hub and api on free ports; screenshots of a failure go to var/browser-artefacts/.
# Then school-account sign-in in the browser against the real OpenID Connect provider (test_sso.py).
# Skipped when a filter picks Swift tests only; both run, and either failing fails the run.
if [ $# -eq 0 ]; then
  status=0
  var/browser-venv/bin/python Tests/Browser/test_pages.py || status=1
  var/browser-venv/bin/python Tests/Browser/test_sso.py || status=1
  exit $status
fi
