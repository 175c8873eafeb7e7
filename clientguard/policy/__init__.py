"""Contract-aware policy: the client's clientguard.toml, the provider posture catalog, and the decision.

    from clientguard.policy import find_policy, load_policy, decide
    policy = load_policy(find_policy(Path.cwd()))
    verdict = decide(policy, "work", "local")   # allow | route_local | block, with reasons and fixes
"""

import importlib
from typing import Any

# Names resolve on first use (PEP 562): importing a submodule (clientguard.policy.locate) does not load
# pydantic, the catalog and the decision logic with it.
_WHERE = {
    "Catalog": "catalog", "Fact": "catalog", "Posture": "catalog", "load_catalog": "catalog",
    "Reason": "decision", "Verdict": "decision", "decide": "decision",
    "CatalogError": "errors", "PolicyError": "errors",
    "POLICY_FILENAME": "locate", "find_policy": "locate",
    "load_policy": "load", "parse_policy": "load",
    "MODES": "model", "Account": "model", "ClientSection": "model", "ContractSection": "model",
    "Policy": "model", "PolicyDocument": "model", "policy_json_schema": "model",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{where}")
    for other, home in _WHERE.items():  # bind all of the submodule's names at once
        if home == where:
            globals()[other] = getattr(module, other)
    return globals()[name]


__all__ = [
    "MODES",
    "POLICY_FILENAME",
    "Account",
    "Catalog",
    "CatalogError",
    "ClientSection",
    "ContractSection",
    "Fact",
    "Policy",
    "PolicyDocument",
    "PolicyError",
    "Posture",
    "Reason",
    "Verdict",
    "decide",
    "find_policy",
    "load_catalog",
    "load_policy",
    "parse_policy",
    "policy_json_schema",
]
