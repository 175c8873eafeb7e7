#!/usr/bin/env bash
# Creates (or reuses) the project's virtual environment in .venv and installs clientguard into it.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3.12 python3.13 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      py="$cand"; break
    fi
  done
fi
[ -n "$py" ] || { echo "clientguard needs Python 3.11 or newer on PATH" >&2; exit 2; }
if [ ! -x "$root/.venv/bin/python" ]; then
  "$py" -m venv "$root/.venv"
fi
stamp="$root/.venv/.clientguard-installed"
extras="${CLIENTGUARD_EXTRAS:-}"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing clientguard into .venv (log: .venv/install.log) ..." >&2
  log="$root/.venv/install.log"
  target="$root"
  [ -n "$extras" ] && target="$root[$extras]"
  if ! { "$root/.venv/bin/python" -m pip install -q --upgrade pip && \
         "$root/.venv/bin/python" -m pip install -q -e "$target"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "installing clientguard failed; the log above says why" >&2
    exit 2
  fi
  echo "$want" > "$stamp"
fi
export PATH="$root/.venv/bin:$PATH"
# Byte-compile clientguard's own modules: an editable install leaves that to the first import, and with
# PYTHONDONTWRITEBYTECODE set (CI machines often set it) every command would compile them again (~80 ms of
# each start). Files already compiled are only looked at.
"$root/.venv/bin/python" -m compileall -q "$root/clientguard" >/dev/null 2>&1 || true
# Compile the detection rules into the data directory now (~9 s, once per rules version) rather than in the
# first `clientguard scan` of a client's repository; a no-op when they are in place. A failure here is only
# a slower first scan, which says why itself.
"$root/.venv/bin/python" -m clientguard.detect.prepare || true
