#!/usr/bin/env bash
# The main job on the bundled demo client (examples/acme-client): sets up .venv, then runs `clientguard demo`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLIENTGUARD_EXTRAS="" source "$root/scripts/env.sh"
cd "$root"
exec clientguard demo "$@"
