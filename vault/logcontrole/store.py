"""The findings table: idempotent writes of a review's candidates, and the privacy officer's reads.

A finding's identity is ``(detector, person, case, day)``: a second review of the same period
finds the same keys and updates those rows (score, period, evidence added) instead of adding rows;
the officer's status and comment stay. A verdict covers only the evidence it was given on (D21): a
finding judged "verklaard" or "geescaleerd" that gets evidence it did not have is re-opened
("nieuw"), its earlier verdict kept (who, when, the sealed comment, and the audit entries of the
verdict and of the re-opening: ``record_reopened``).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import AuditTag, Decision
from vault.errors import InvalidInput
from vault.logcontrole.detectors import MAX_EVIDENCE, Candidate
from vault.models import AuditEntry, Finding, FindingEntry

__all__ = [
    "CREDENTIAL_TAGS",
    "MAX_PAGE",
    "FindingCursor",
    "FindingRow",
    "FindingStatus",
    "FindingsPage",
    "Reopened",
    "WriteCounts",
    "credentials_set_by",
    "evidence_names",
    "evidence_of",
    "findings_page",
    "list_findings",
    "record_reopened",
    "verdict_history",
    "write_candidates",
]

MAX_PAGE: Final = 500


class FindingStatus(StrEnum):
    NEW = "nieuw"
    IN_PROGRESS = "in_behandeling"
    EXPLAINED = "verklaard"
    ESCALATED = "geescaleerd"


VERDICTS: Final = frozenset({FindingStatus.EXPLAINED.value, FindingStatus.ESCALATED.value})
REOPEN_RULE: Final = "d21-new-evidence-after-verdict"


@dataclass(frozen=True)
class Reopened:
    """A judged finding re-opened by a review: ids and codes only (it goes into the audit log)."""

    finding_id: int
    case_key: str
    verdict: str  # the status it had: "verklaard" or "geescaleerd"
    new_seqs: tuple[int, ...]  # the evidence the verdict did not cover (audit seqs, may be empty
    # when the finding's evidence list was already full: then only its period grew)


@dataclass(frozen=True)
class WriteCounts:
    new: int
    updated: int
    reopened: tuple[Reopened, ...] = ()


@dataclass(frozen=True)
class _Known:
    id: int
    status: str
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class FindingRow:
    id: int
    detector: str
    actor_id: str | None
    case_id: str | None
    day: str
    first_at: datetime
    last_at: datetime
    score: float
    reason: str
    status: str
    status_by: str | None
    status_at: datetime | None
    has_comment: bool


def _at(t: int) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _existing(session: Session, days: list[str]) -> dict[tuple[str, str, str, str], _Known]:
    return {
        (row.detector, row.actor_key, row.case_key, row.day): _Known(
            row.id, row.status, _aware(row.first_at), _aware(row.last_at)
        )
        for row in session.execute(
            select(
                Finding.id,
                Finding.detector,
                Finding.actor_key,
                Finding.case_key,
                Finding.day,
                Finding.status,
                Finding.first_at,
                Finding.last_at,
            ).where(Finding.day >= days[0], Finding.day <= days[-1])
        )
    }


def _known_seqs(session: Session, ids: list[int]) -> dict[int, set[int]]:
    known: dict[int, set[int]] = defaultdict(set)
    for start in range(0, len(ids), 500):
        for owner, seq in session.execute(
            select(FindingEntry.finding_id, FindingEntry.seq).where(
                FindingEntry.finding_id.in_(ids[start : start + 500])
            )
        ):
            known[owner].add(seq)
    return known


def write_candidates(session: Session, candidates: Sequence[Candidate], now: datetime) -> WriteCounts:
    """Insert new findings and update known ones (same identity) in the caller's transaction.

    A known finding's period only grows (its stored evidence stays, so a review of a shorter period
    must not shrink it). A known finding with a verdict that gets evidence it did not have (a seq, or
    a later moment when its evidence list is full) goes back to "nieuw" (D21: the verdict covered
    what the officer saw, not what came after); the caller records each in ``reopened`` with
    ``record_reopened``. Who gave the verdict, when, and the sealed comment stay on the row."""
    if not candidates:
        return WriteCounts(0, 0)
    existing = _existing(session, sorted({c.day for c in candidates}))
    known_seqs = _known_seqs(session, [k.id for k in existing.values()])
    new = updated = 0
    reopened: list[Reopened] = []
    finding_id: int
    evidence: list[dict[str, int]] = []
    for c in candidates:
        key = (str(c.detector), c.actor, c.case, c.day)
        known = existing.get(key)
        values: dict[str, Any] = {
            "first_at": _at(c.first_t),
            "last_at": _at(c.last_t),
            "score": round(c.score, 3),
            "reason": c.reason[:200],
            "updated_at": now,
        }
        if known is None:
            finding_id = session.execute(
                insert(Finding)
                .values(
                    detector=key[0],
                    actor_key=c.actor,
                    case_key=c.case,
                    day=c.day,
                    status=FindingStatus.NEW.value,
                    created_at=now,
                    **values,
                )
                .returning(Finding.id)
            ).scalar_one()
            new += 1
        else:
            finding_id = known.id
            have = known_seqs[finding_id]
            unseen = tuple(seq for seq in c.seqs if seq not in have)
            # A full evidence list takes no more seqs: a later moment is then the sign of new evidence.
            later = len(have) >= MAX_EVIDENCE and values["last_at"] > known.last_at
            values["first_at"] = min(values["first_at"], known.first_at)
            values["last_at"] = max(values["last_at"], known.last_at)
            if known.status in VERDICTS and (unseen or later):
                values["status"] = FindingStatus.NEW.value
                reopened.append(Reopened(finding_id, c.case, known.status, unseen))
            session.execute(update(Finding).where(Finding.id == finding_id).values(**values))
            updated += 1
        evidence.extend(_new_evidence(finding_id, c.seqs, known_seqs[finding_id]))
    if evidence:
        session.execute(insert(FindingEntry), evidence)
    return WriteCounts(new, updated, tuple(reopened))


def _new_evidence(finding_id: int, seqs: Sequence[int], have: set[int]) -> list[dict[str, int]]:
    """The rows of ``seqs`` the finding does not hold yet, up to ``MAX_EVIDENCE`` in all."""
    rows: list[dict[str, int]] = []
    room = MAX_EVIDENCE - len(have)
    for seq in seqs:
        if room <= 0:
            break
        if seq not in have:
            have.add(seq)
            rows.append({"finding_id": finding_id, "seq": seq})
            room -= 1
    return rows


def record_reopened(session: Session, ctx: Context, reopened: Sequence[Reopened]) -> None:
    """One audit entry per re-opened finding, by the review's actor, next to the officer's verdict
    entry (same tag and object): which verdict it had and how much new evidence (ids and counts)."""
    for item in reopened:
        record(
            session,
            ctx,
            AuditTag.AUDIT_FINDING_STATUS_CHANGED,
            case_id=item.case_key or None,
            object_type="audit_finding",
            object_id=str(item.finding_id),
            purpose="audit-review",
            rule=REOPEN_RULE,
            details={
                "status": FindingStatus.NEW.value,
                "reopened_from": item.verdict,
                "new_evidence": len(item.new_seqs),
                "first_new_seq": min(item.new_seqs) if item.new_seqs else None,
            },
        )


def _row(f: Finding) -> FindingRow:
    return FindingRow(
        f.id,
        f.detector,
        f.actor_key or None,
        f.case_key or None,
        f.day,
        f.first_at,
        f.last_at,
        f.score,
        f.reason,
        f.status,
        f.status_by,
        f.status_at,
        f.comment_enc is not None,
    )


_CURSOR: Final = re.compile(r"(\d{4}-\d{2}-\d{2})_([0-9.eE+-]{1,32})_(\d{1,10})")


@dataclass(frozen=True)
class FindingCursor:
    """Where a page of findings ends, in the list's order (newest day, highest score, highest id
    first): the last finding's own values, so the next page starts right after it even when findings
    are added meanwhile. Written as ``day_score_id`` (``2026-12-05_0.75_42``): codes, no free text."""

    day: str
    score: float
    id: int

    @classmethod
    def of(cls, row: FindingRow) -> FindingCursor:
        return cls(row.day, row.score, row.id)

    @classmethod
    def parse(cls, text: str) -> FindingCursor:
        """The cursor of a ``next`` answer; anything else raises ``InvalidInput`` naming what is wrong."""
        match = _CURSOR.fullmatch(text)
        try:
            if match is None:
                raise ValueError(text)
            day, score, number = match.group(1), float(match.group(2)), int(match.group(3))
            date.fromisoformat(day)
            if not math.isfinite(score) or not 1 <= number <= 2**31 - 1:
                raise ValueError(text)
        except ValueError:
            raise InvalidInput("after: not a cursor of this list (the 'next' of the page before)") from None
        return cls(day, score, number)

    def __str__(self) -> str:
        return f"{self.day}_{self.score!r}_{self.id}"


@dataclass(frozen=True)
class FindingsPage:
    rows: list[FindingRow]
    next: FindingCursor | None  # None: this page is the last
    total: int  # every finding matching the filters, on all pages


def _filtered(query: Any, status: str | None, detector: str | None, actor_id: str | None) -> Any:
    if status is not None:
        query = query.where(Finding.status == status)
    if detector is not None:
        query = query.where(Finding.detector == detector)
    if actor_id is not None:
        query = query.where(Finding.actor_key == actor_id)
    return query


def _after(cursor: FindingCursor) -> Any:
    """Findings that come after ``cursor`` in the descending (day, score, id) order."""
    return or_(
        Finding.day < cursor.day,
        and_(
            Finding.day == cursor.day,
            or_(Finding.score < cursor.score, and_(Finding.score == cursor.score, Finding.id < cursor.id)),
        ),
    )


def list_findings(
    session: Session,
    *,
    status: str | None = None,
    detector: str | None = None,
    actor_id: str | None = None,
    after: FindingCursor | None = None,
    limit: int = 200,
) -> list[FindingRow]:
    """Findings newest day first, highest score first (then highest id: a total, stable order)."""
    query = select(Finding).order_by(Finding.day.desc(), Finding.score.desc(), Finding.id.desc()).limit(limit)
    query = _filtered(query, status, detector, actor_id)
    if after is not None:
        query = query.where(_after(after))
    return [_row(f) for f in session.scalars(query)]


def findings_page(
    session: Session,
    *,
    status: str | None = None,
    detector: str | None = None,
    actor_id: str | None = None,
    after: FindingCursor | None = None,
    limit: int = 200,
) -> FindingsPage:
    """One page of ``list_findings`` (``limit`` 1 to ``MAX_PAGE``), the cursor of the next page
    (D21: no finding is out of reach) and how many findings match the filters in all."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit: from 1 to {MAX_PAGE}")
    rows = list_findings(
        session, status=status, detector=detector, actor_id=actor_id, after=after, limit=limit + 1
    )
    total = session.scalar(_filtered(select(func.count(Finding.id)), status, detector, actor_id)) or 0
    more = len(rows) > limit
    rows = rows[:limit]
    return FindingsPage(rows, FindingCursor.of(rows[-1]) if more else None, total)


def finding(session: Session, finding_id: int) -> Finding | None:
    return session.get(Finding, finding_id)


def finding_row(f: Finding) -> FindingRow:
    return _row(f)


def evidence_of(session: Session, finding_id: int) -> list[int]:
    return list(
        session.scalars(
            select(FindingEntry.seq).where(FindingEntry.finding_id == finding_id).order_by(FindingEntry.seq)
        )
    )


def evidence_names(session: Session, finding_id: int, actor_id: str) -> bool:
    """Whether one of the finding's evidence entries is ``actor_id``'s own (a spike names no one
    person, yet each reader is one of its subjects: session 18, L2)."""
    query = (
        select(FindingEntry.seq)
        .join(AuditEntry, AuditEntry.seq == FindingEntry.seq)
        .where(FindingEntry.finding_id == finding_id, AuditEntry.actor_id == actor_id)
        .limit(1)
    )
    return session.execute(query).first() is not None


# What sets an account's credentials or role (detector 11's credential actions, and the role change).
CREDENTIAL_TAGS: Final = (
    AuditTag.ADMIN_USER_CREATED.value,
    AuditTag.ADMIN_USER_PASSWORD_RESET.value,
    AuditTag.AUTH_TOTP_RESET.value,
    AuditTag.AUTH_TOTP_ENROLLED.value,
    AuditTag.AUTH_PASSKEY_REVOKED.value,
    AuditTag.ADMIN_ROLE_CHANGED.value,
)


def credentials_set_by(session: Session, account: str, person: str, since: datetime) -> bool:
    """D21: did ``person`` create ``account``, reset its password or second factor, install its TOTP,
    revoke its passkey or change its role, at ``since`` or later? (A passkey's entry names the
    account in its details.) Ids and tags only."""
    rows = session.execute(
        select(AuditEntry.tag, AuditEntry.object_id, AuditEntry.details).where(
            AuditEntry.actor_id == person,
            AuditEntry.tag.in_(CREDENTIAL_TAGS),
            AuditEntry.decision == Decision.ALLOW.value,
            AuditEntry.occurred_at >= since,
        )
    )
    for tag, object_id, details in rows:
        if tag == AuditTag.AUTH_PASSKEY_REVOKED.value:
            found = json.loads(details or "{}")
            object_id = found.get("user") if isinstance(found, dict) else None
        if object_id == account:
            return True
    return False


def verdict_history(session: Session, finding_id: int) -> list[dict[str, Any]]:
    """The finding's status changes from the audit log, oldest first: each verdict and each
    re-opening by a review (``reopened_from``, ``new_evidence``). The row keeps only the last status;
    the log keeps what was judged before (D21). Ids, codes and counts only."""
    rows = session.execute(
        select(AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_id, AuditEntry.details)
        .where(
            AuditEntry.tag == AuditTag.AUDIT_FINDING_STATUS_CHANGED.value,
            AuditEntry.object_type == "audit_finding",
            AuditEntry.object_id == str(finding_id),
            AuditEntry.decision == Decision.ALLOW.value,
        )
        .order_by(AuditEntry.seq)
    )
    history: list[dict[str, Any]] = []
    for seq, at, actor_id, details in rows:
        facts = json.loads(details or "{}")
        history.append(
            {
                "seq": seq,
                "at": _aware(at),
                "actor_id": actor_id,
                "status": facts.get("status"),
                "reopened_from": facts.get("reopened_from"),
                "new_evidence": facts.get("new_evidence"),
            }
        )
    return history
