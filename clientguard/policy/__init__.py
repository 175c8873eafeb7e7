"""Contract-aware policy: the client's clientguard.toml, the provider posture catalog, and the decision.

    from clientguard.policy import find_policy, load_policy, decide
    policy = load_policy(find_policy(Path.cwd()))
    verdict = decide(policy, "work", "local")   # allow | route_local | block, with reasons and fixes
"""

from clientguard.policy.catalog import Catalog, Fact, Posture, load_catalog
from clientguard.policy.decide import Reason, Verdict, decide
from clientguard.policy.errors import CatalogError, PolicyError
from clientguard.policy.load import POLICY_FILENAME, find_policy, load_policy, parse_policy
from clientguard.policy.model import (
    MODES,
    Account,
    ClientSection,
    ContractSection,
    Policy,
    PolicyDocument,
    policy_json_schema,
)

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
