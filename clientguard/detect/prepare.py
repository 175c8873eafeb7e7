"""Prepare the built-in rules for this machine ahead of the first scan: `python -m clientguard.detect.prepare`.

A machine's first `clientguard scan` validates the rules and compiles their hyperscan databases into the data
directory (~9 s, once per rules version); every later command reads them from there (~0.1 s). The set-up
scripts (scripts/env.sh) run this after installing, so that the first scan of a client's repository starts at
once. Nothing is scanned and no fingerprint key is made; with everything in place it returns in ~0.2 s.
"""

from __future__ import annotations

import sys

from clientguard.detect import keystores
from clientguard.detect.engine import Detector
from clientguard.detect.rules import builtin_rules_prepared
from clientguard.errors import ClientguardError


def main() -> int:
    if not builtin_rules_prepared():
        print("preparing the detection rules for this machine (once per rules version, ~10 s) ...", file=sys.stderr)
    try:
        # A throwaway key: preparing must not create the user's fingerprint key (a scan does, when it needs one).
        Detector.create(fingerprint_key=bytes(32))
        keystores.kinds()  # validated once, so that scans read them without pydantic
    except (ClientguardError, OSError, RuntimeError) as exc:
        print(f"clientguard: could not prepare the detection rules: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
