"""Facts a policy decision is made on, and the decision itself.

The engine never reads the database: the caller gathers these facts with indexed queries and
passes them in. Every class is frozen so a decision cannot change the facts it was given, and none
of them carries personal data (ids and enumerations only), so a ``Decision`` may go into the audit
log as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vault.domain import CaseKind, Category, OrgType, Role
from vault.domain import Decision as Effect

__all__ = [
    "Actor",
    "CaseFacts",
    "Decision",
    "DecisionContext",
    "GrantFacts",
    "Target",
]


@dataclass(frozen=True, slots=True)
class Actor:
    """The authenticated user asking. ``org_id``/``org_type`` are set for partners and professionals."""

    id: str
    role: Role
    team_ids: frozenset[str]
    org_id: str | None
    org_type: OrgType | None
    second_factor_verified: bool


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the policy needs to know about one case; ``owner_id`` is the professional of an
    ``advice_professional`` case (D3)."""

    case_id: str
    kind: CaseKind
    team_id: str | None
    owner_id: str | None
    assigned_user_ids: frozenset[str]
    destroyed: bool


@dataclass(frozen=True, slots=True)
class Target:
    """What is acted on.

    - no case: a system-level object (users, teams, keys, the audit log as a whole);
    - a case without category or document: the case record itself (case level);
    - a case with a category (and optionally a document of that category): content of that category.

    A document must always come with its category: the category decides who may read it (medical,
    reporter identity), so a document without one is refused rather than guessed.
    """

    case: CaseFacts | None
    category: Category | None
    document_id: str | None


@dataclass(frozen=True, slots=True)
class GrantFacts:
    """One scoped disclosure to a partner organisation (D9, D10).

    ``case_id`` is not in the original brief: without it a grant for one case would also match the
    same category of any other case, so the engine checks it against the target.
    """

    grant_id: str
    case_id: str
    org_id: str
    categories: frozenset[Category]
    document_ids: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    revoked: bool
    retrievals_used: int
    max_retrievals: int
    reporter_identity_released: bool
    legal_basis: str | None = None  # the grant's ground, recorded in the audit entry of each retrieval


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Per-request circumstances. ``now`` must be an aware UTC datetime; the engine refuses others.

    ``reporter_identity_release`` says a consent (or, for a professional reporter, a staff release
    with reason) is recorded for disclosing or exporting the reporter's identity (D8).
    ``own_motion_approvals`` holds (approver id, approver role) pairs for a D4 conversion.
    """

    now: datetime
    break_glass_justification: str | None = None
    grant: GrantFacts | None = None
    reporter_identity_release: bool = False
    own_motion_approvals: tuple[tuple[str, Role], ...] = ()
    purpose: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one policy check.

    ``rule`` is the id of the policy line that matched (``p:...``), or ``default-deny``,
    ``error-deny``, ``invalid-request`` or a ``d4-...``/``d9-...`` id from the non-matcher checks.
    ``reason`` is a short English phrase without personal data. ``break_glass`` is True only for an
    allow that rests on a break-the-glass justification, so the audit entry carries the emergency
    flag (D20) without parsing rule names.
    """

    allowed: bool
    rule: str
    reason: str
    break_glass: bool = field(default=False)

    @property
    def effect(self) -> Effect:
        """The audit log's enumeration of this decision."""
        return Effect.ALLOW if self.allowed else Effect.DENY
