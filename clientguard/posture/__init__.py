"""Posture: what the coding agents on this machine do with a client's code, and wiring them to the gateway."""

from clientguard.posture.audit import AuditReport, run_audit
from clientguard.posture.model import AgentPosture, AuditContext, PostureFinding, verdict_for

__all__ = ["AgentPosture", "AuditContext", "AuditReport", "PostureFinding", "run_audit", "verdict_for"]
