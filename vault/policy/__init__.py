"""Policy decisions: who may do what to which part of a case (ARCHITECTURE "Policy").

Database-free: the caller gathers the facts (team membership, assignment, grant) with indexed
queries and asks ``PolicyHolder.current.decide(...)``. Default deny; errors deny.
"""

from __future__ import annotations

from vault.policy.bases import LegalBases, StatutoryBasis, check_legal_basis, default_legal_bases
from vault.policy.engine import (
    BREAK_GLASS_MIN_CHARS,
    DEFAULT_MODEL_PATH,
    DEFAULT_POLICY_PATH,
    PolicyEngine,
    PolicyHolder,
    non_blank_chars,
    own_motion_conversion_allowed,
)
from vault.policy.facts import Actor, CaseFacts, Decision, DecisionContext, GrantFacts, Target

__all__ = [
    "BREAK_GLASS_MIN_CHARS",
    "DEFAULT_MODEL_PATH",
    "DEFAULT_POLICY_PATH",
    "Actor",
    "CaseFacts",
    "Decision",
    "DecisionContext",
    "GrantFacts",
    "LegalBases",
    "PolicyEngine",
    "PolicyHolder",
    "StatutoryBasis",
    "Target",
    "check_legal_basis",
    "default_legal_bases",
    "non_blank_chars",
    "own_motion_conversion_allowed",
]
