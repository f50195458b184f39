"""What the detectors know besides the log: staff, teams, cases, blind-index matches, requests.

Everything here is ids, flags, dates and keyed blind indexes; nothing is decrypted. Loaded once per
review, a few set-based queries (never one query per audit entry).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final

from sqlalchemy import Connection, func, select

from vault.audit.break_glass import first_of_grouping
from vault.domain import AuditTag, Decision, TriageOutcome
from vault.models import (
    AccessRequest,
    AuditEntry,
    BreakGlassAccess,
    BreakGlassAccessEntry,
    Case,
    CaseAssignment,
    CaseWorkflow,
    DestructionRequest,
    StaffIndex,
    Subject,
    TeamMembership,
    User,
)
from vault.services.calendar import NL_TZ

__all__ = ["CIRCLE_KINDS", "SELF_KINDS", "BreakGlassFacts", "CaseFacts", "Facts", "load_facts"]

SELF_KINDS = ("self_bsn", "self_person")
CIRCLE_KINDS = ("address", "relation_bsn", "relation_person")
# AES-GCM field format (vault.crypto.fields): version byte + 12-byte nonce + 16-byte tag around the
# text; only for accesses recorded before their justification's character count was kept.
_SEAL_OVERHEAD = 1 + 12 + 16


@dataclass
class CaseFacts:
    team_id: str | None
    owner_id: str | None
    protected: bool
    closed_on: date | None
    assigned: set[str] = field(default_factory=set)
    colleagues: set[str] = field(default_factory=set)  # staff who are a subject of the case
    circle: set[str] = field(default_factory=set)  # staff related to / living with a subject
    # (received, completed or None) of access and destruction requests on the case, epoch seconds
    requests: list[tuple[float, float | None]] = field(default_factory=list)
    # when its protection was lifted (epoch seconds, from the log): the flag as it is now does not
    # tell whether it was protected when a read happened (D21, session 16 O1)
    lifted: list[float] = field(default_factory=list)

    def works_on(self, user_id: str) -> bool:
        return user_id == self.owner_id or user_id in self.assigned

    def protected_near(self, t: float, window: float) -> bool:
        """Protected now, or its protection lifted no longer than ``window`` seconds before ``t`` (or
        after it: then it was protected at ``t``)."""
        return self.protected or any(lifted >= t - window for lifted in self.lifted)


@dataclass(frozen=True)
class BreakGlassFacts:
    access_seq: int
    # the policy's count of non-blank characters, recorded when sealed (for an access recorded before
    # that count was kept: the sealed text's UTF-8 byte length, an upper bound); nothing decrypted
    justification_chars: int
    repeated: bool  # the same normalised text (keyed hash) was given for another emergency access


@dataclass
class Facts:
    teams: dict[str, frozenset[str]]  # user id -> team ids
    roles: dict[str, str]  # user id -> role
    cases: dict[str, CaseFacts]
    break_glass: dict[int, BreakGlassFacts]  # audit seq -> its emergency access

    def team_of(self, user_id: str) -> frozenset[str]:
        return self.teams.get(user_id, frozenset())

    def peer_groups(self, user_id: str) -> list[tuple[str, str]]:
        """(team, role) of each team the user is in: their peers for a baseline."""
        role = self.roles.get(user_id, "")
        return [(team, role) for team in self.team_of(user_id)]


def _at_midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def load_facts(conn: Connection, first_seq: int, last_seq: int) -> Facts:
    teams: dict[str, set[str]] = defaultdict(set)
    for user_id, team_id in conn.execute(select(TeamMembership.user_id, TeamMembership.team_id)):
        teams[user_id].add(team_id)
    roles: dict[str, str] = {}
    for user_id, role in conn.execute(select(User.id, User.role)):
        teams.setdefault(user_id, set())
        roles[user_id] = role

    cases: dict[str, CaseFacts] = {}
    rows = conn.execute(
        select(
            Case.id,
            Case.team_id,
            Case.owner_id,
            Case.protected,
            CaseWorkflow.investigation_ended_on,
            CaseWorkflow.triage_outcome,
            CaseWorkflow.triage_decided_at,
        ).outerjoin(CaseWorkflow, CaseWorkflow.case_id == Case.id)
    )
    for row_id, case_team, case_owner, protected, ended_on, outcome, decided_at in rows:
        closed_on = ended_on
        if closed_on is None and outcome == TriageOutcome.END.value and decided_at is not None:
            # D6: a report that ended at triage is closed on the day of that decision (session 16 O4)
            closed_on = (
                (decided_at if decided_at.tzinfo else decided_at.replace(tzinfo=UTC)).astimezone(NL_TZ).date()
            )
        cases[row_id] = CaseFacts(case_team, case_owner, bool(protected), closed_on)
    for case_id, user_id in conn.execute(select(CaseAssignment.case_id, CaseAssignment.user_id)):
        if case_id in cases:
            cases[case_id].assigned.add(user_id)

    # Blind-index matches of staff enrolment data against subjects (one join per index column).
    matches = (
        (Subject.bsn_index, ("self_bsn",), "colleagues"),
        (Subject.person_index, ("self_person",), "colleagues"),
        (Subject.bsn_index, ("relation_bsn",), "circle"),
        (Subject.person_index, ("relation_person",), "circle"),
        (Subject.address_index, ("address",), "circle"),
    )
    for column, kinds, target in matches:
        query = (
            select(Subject.case_id, StaffIndex.user_id)
            .join(StaffIndex, StaffIndex.value == column)
            .where(StaffIndex.kind.in_(kinds))
        )
        for case_id, user_id in conn.execute(query):
            if case_id in cases:
                getattr(cases[case_id], target).add(user_id)

    for case_id, received_on, completed_at in conn.execute(
        select(AccessRequest.case_id, AccessRequest.received_on, AccessRequest.completed_at)
    ):
        if case_id in cases:
            cases[case_id].requests.append((_at_midnight(received_on), _epoch(completed_at)))
    for case_id, received_on, decided_at in conn.execute(
        select(DestructionRequest.case_id, DestructionRequest.received_on, DestructionRequest.decided_at)
    ):
        if case_id in cases:
            cases[case_id].requests.append((_at_midnight(received_on), _epoch(decided_at)))

    for changed, at, details in conn.execute(
        select(AuditEntry.case_id, AuditEntry.occurred_at, AuditEntry.details).where(
            AuditEntry.tag.in_(_PROTECTION_TAGS),
            AuditEntry.decision == Decision.ALLOW.value,
            AuditEntry.case_id.is_not(None),
        )
    ):
        if changed in cases and _lifts(details):
            moment = _epoch(at)
            if moment is not None:
                cases[changed].lifted.append(moment)

    return Facts(
        {k: frozenset(v) for k, v in teams.items()}, roles, cases, _break_glass(conn, first_seq, last_seq)
    )


_PROTECTION_TAGS: Final = (
    AuditTag.DOSSIER_CASE_PROTECTION_CHANGED.value,
    AuditTag.AUDIT_CASE_PROTECTION_CHANGED.value,
)


def _lifts(details: str | None) -> bool:
    """Whether a protection change lifted the protection (``{"protected": false}``)."""
    try:
        found = json.loads(details or "{}")
    except ValueError:
        return False
    return isinstance(found, dict) and found.get("protected") is False


def _break_glass(conn: Connection, first_seq: int, last_seq: int) -> dict[int, BreakGlassFacts]:
    uses = dict(
        conn.execute(
            select(BreakGlassAccess.justification_digest, func.count())
            .where(first_of_grouping())  # an access started after a review is no new use of the text
            .group_by(BreakGlassAccess.justification_digest)
        ).all()
    )
    query = (
        select(
            BreakGlassAccessEntry.seq,
            BreakGlassAccess.seq,
            BreakGlassAccess.justification_chars,
            func.length(BreakGlassAccess.justification_enc),
            BreakGlassAccess.justification_digest,
        )
        .join(BreakGlassAccess, BreakGlassAccess.seq == BreakGlassAccessEntry.access_seq)
        .where(BreakGlassAccessEntry.seq >= first_seq, BreakGlassAccessEntry.seq <= last_seq)
    )
    found: dict[int, BreakGlassFacts] = {}
    for seq, access_seq, counted, sealed_len, digest in conn.execute(query):
        # Not counted (before migration 0026): every non-blank character is at least one byte of the
        # sealed text, so a text short by its bytes is short; a longer one may still be (not known).
        chars = int(counted) if counted is not None else max(0, int(sealed_len or 0) - _SEAL_OVERHEAD)
        found[seq] = BreakGlassFacts(int(access_seq), chars, uses.get(digest, 0) > 1)
    return found
