#!/usr/bin/env bash
# The whole test suite: sets up .venv with the test extras, installs the real coding agents from npm
# (pinned in tests/agents/package.json) and Chromium for the report checks, then runs pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENTGUARD_EXTRAS="test,bench" source "$root/scripts/env.sh"
cd "$root"

# Installed again when the pinned versions change: a checkout that installed older agents must not go
# on testing those.
stamp=tests/agents/node_modules/.clientguard-pins.json
if [ ! -x tests/agents/node_modules/.bin/codex ] || [ ! -x tests/agents/node_modules/.bin/claude ] \
   || ! cmp -s tests/agents/package.json "$stamp"; then
  command -v npm >/dev/null 2>&1 || { echo "npm is needed to install the real agents the tests drive" >&2; exit 2; }
  (cd tests/agents && npm install --no-audit --no-fund --loglevel=error)
  cp tests/agents/package.json "$stamp"
fi

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the report rendering tests will fail" >&2
  fi
fi

set +e
python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "no tests ran: that is a failure" >&2
  exit 1
fi
exit "$rc"
