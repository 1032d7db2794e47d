#!/usr/bin/env bash
# Installs the OpenID Connect provider that the end-to-end sign-in test runs (django-oauth-toolkit
# from PyPI, with requests for the test's browser) into var/oidc-venv. Idempotent and quick on a
# re-run: a venv that already imports them is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=var/oidc-venv
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import oauth2_provider, requests, cryptography" 2>/dev/null; then
  exit 0
fi
python=/usr/bin/python3
[ -x "$python" ] || python="$(command -v python3)"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "django-oauth-toolkit>=3.0,<4" "requests>=2.31,<3"
