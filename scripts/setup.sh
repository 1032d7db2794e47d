#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing (fresh Debian 12 machine).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
# chromium and python3-venv: the browser tests (Tests/Browser) drive Debian's chromium from Playwright.
for pkg in libuv1-dev libhiredis-dev libssl-dev libqrencode-dev redis-server redis-tools pkg-config chromium python3-venv; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The Debian package starts its own redis on 6379 at install; the project runs its own config.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server 2>/dev/null || true
fi
command -v swift >/dev/null || { echo "swift (6.x) is required on PATH" >&2; exit 1; }
# Playwright for Python and axe-core (the axe-playwright-python wheel carries axe.min.js) in a venv
# under var/, installed once; Playwright drives the Debian chromium, so no browser is downloaded.
venv=var/browser-venv
if ! "$venv/bin/python" -c 'import playwright, axe_playwright_python' 2>/dev/null; then
  echo "installing Playwright for Python and axe-playwright-python into $venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check playwright axe-playwright-python
fi
# The real OpenID Connect provider of the end-to-end sign-in test (PyPI); without it that test skips.
"$(dirname "$0")/setup-oidc-provider.sh" || echo "warning: the OIDC test provider could not be installed; OIDCProviderEndToEndTests will skip" >&2
