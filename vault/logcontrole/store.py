"""The findings table: idempotent writes of a review's candidates, and the privacy officer's reads.

A finding's identity is ``(detector, person, case, day)``: a second review of the same period
finds the same keys and updates those rows (score, period, evidence added) instead of adding rows;
the officer's status and comment stay.
"""

from __future__ import annotations

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

from vault.errors import InvalidInput
from vault.logcontrole.detectors import MAX_EVIDENCE, Candidate
from vault.models import Finding, FindingEntry

__all__ = [
    "MAX_PAGE",
    "FindingCursor",
    "FindingRow",
    "FindingStatus",
    "FindingsPage",
    "WriteCounts",
    "evidence_of",
    "findings_page",
    "list_findings",
    "write_candidates",
]

MAX_PAGE: Final = 500


class FindingStatus(StrEnum):
    NEW = "nieuw"
    IN_PROGRESS = "in_behandeling"
    EXPLAINED = "verklaard"
    ESCALATED = "geescaleerd"


@dataclass(frozen=True)
class WriteCounts:
    new: int
    updated: int


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


def write_candidates(session: Session, candidates: Sequence[Candidate], now: datetime) -> WriteCounts:
    """Insert new findings and update known ones (same identity) in the caller's transaction."""
    if not candidates:
        return WriteCounts(0, 0)
    days = sorted({c.day for c in candidates})
    existing: dict[tuple[str, str, str, str], int] = {
        (row.detector, row.actor_key, row.case_key, row.day): row.id
        for row in session.execute(
            select(Finding.id, Finding.detector, Finding.actor_key, Finding.case_key, Finding.day).where(
                Finding.day >= days[0], Finding.day <= days[-1]
            )
        )
    }
    known_seqs: dict[int, set[int]] = defaultdict(set)
    if existing:
        ids = list(existing.values())
        for start in range(0, len(ids), 500):
            for owner, seq in session.execute(
                select(FindingEntry.finding_id, FindingEntry.seq).where(
                    FindingEntry.finding_id.in_(ids[start : start + 500])
                )
            ):
                known_seqs[owner].add(seq)
    new = updated = 0
    finding_id: int
    evidence: list[dict[str, int]] = []
    for c in candidates:
        key = (str(c.detector), c.actor, c.case, c.day)
        known = existing.get(key)
        values = {
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
            finding_id = known
            session.execute(update(Finding).where(Finding.id == finding_id).values(**values))
            updated += 1
        have = known_seqs[finding_id]
        room = MAX_EVIDENCE - len(have)
        for seq in c.seqs:
            if room <= 0:
                break
            if seq not in have:
                have.add(seq)
                evidence.append({"finding_id": finding_id, "seq": seq})
                room -= 1
    if evidence:
        session.execute(insert(FindingEntry), evidence)
    return WriteCounts(new, updated)


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
