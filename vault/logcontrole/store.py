"""The findings table: idempotent writes of a review's candidates, and the privacy officer's reads.

A finding's identity is ``(detector, person, case, day)``: a second review of the same period
finds the same keys and updates those rows (score, period, evidence added) instead of adding rows;
the officer's status and comment stay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from vault.logcontrole.detectors import MAX_EVIDENCE, Candidate
from vault.models import Finding, FindingEntry

__all__ = ["FindingRow", "FindingStatus", "WriteCounts", "evidence_of", "list_findings", "write_candidates"]


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


def list_findings(
    session: Session,
    *,
    status: str | None = None,
    detector: str | None = None,
    actor_id: str | None = None,
    limit: int = 200,
) -> list[FindingRow]:
    query = select(Finding).order_by(Finding.day.desc(), Finding.score.desc(), Finding.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Finding.status == status)
    if detector is not None:
        query = query.where(Finding.detector == detector)
    if actor_id is not None:
        query = query.where(Finding.actor_key == actor_id)
    return [_row(f) for f in session.scalars(query)]


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
