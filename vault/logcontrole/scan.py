"""The audit-log reads of the review: period bounds, hourly read counts (baselines) and one streamed
pass over the period's entries in seq order (raw driver rows in batches, as ``vault.audit.queries``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, cast

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.services.calendar import NL_TZ

__all__ = [
    "CONTENT_TAGS",
    "LOOKUP_TAG",
    "HourInfo",
    "ReviewRow",
    "ReviewRun",
    "TimeCache",
    "denials_between",
    "first_time",
    "head_time",
    "hourly_reads",
    "iter_review_batches",
    "review_runs",
    "seq_bounds",
]

BATCH: Final = 10_000
# What the review counts as a read: every tag the gate records when it admits a READ or an EXPORT of
# a case (``vault.services.gate``), i.e. every door through which case content reaches a person. Not
# chosen by the tag's name: an inzage copy (``rights:inzage:exported``: a subject's name, BSN, address)
# and its review list (``rights:inzage:items-listed``: every document title and note, decrypted)
# disclose as much as a case page. ``tests/logcontrole/test_content_tags.py`` reads the gate's callers
# and fails when a tag admitted for READ or EXPORT is missing here.
CONTENT_TAGS: Final = frozenset(
    t.value
    for t in (
        AuditTag.DOSSIER_CASE_READ,
        AuditTag.DOSSIER_SUBJECT_READ,
        AuditTag.DOSSIER_REPORTER_IDENTITY_READ,
        AuditTag.DOSSIER_DOCUMENT_TITLES_READ,
        AuditTag.DOSSIER_DOCUMENT_READ,
        AuditTag.DOSSIER_CONSENT_READ,
        AuditTag.DOSSIER_OWN_MOTION_READ,
        AuditTag.DOSSIER_NOTES_READ,
        AuditTag.DOSSIER_FAMILY_NAME_READ,
        AuditTag.DOSSIER_TIMELINE_READ,
        AuditTag.RIGHTS_INZAGE_EXPORTED,
        AuditTag.RIGHTS_INZAGE_ITEMS_LISTED,
        AuditTag.RIGHTS_REQUESTS_READ,
        AuditTag.DISCLOSURE_REGISTER_READ,
        AuditTag.DISCLOSURE_CONSENTS_LISTED,
        AuditTag.DISCLOSURE_FEEDBACK_PREPARED,
    )
)
LOOKUP_TAG: Final = AuditTag.DOSSIER_PERSON_LOOKUP.value

ReviewRow = tuple[int, str, str, str | None, str | None, str, Any, str | None]
"""``(seq, 'YYYY-MM-DD HH:MM:SS' UTC, tag, actor_id, case_id, decision, break_glass, details)``;
``details`` only for person lookups (else NULL)."""

_ids = itertools.count(1)


def _when(dialect: str) -> str:
    if dialect == "postgresql":
        return "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
    return "substr(occurred_at, 1, 19)"


def _raw(conn: Connection, sql: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    if conn.dialect.name == "postgresql":
        sql = sql.replace(":first", "%(first)s").replace(":last", "%(last)s")
        cursor = dbapi.cursor(name=f"logcontrole_scan_{next(_ids)}")
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(BATCH):
            yield cast("list[Any]", batch)
    finally:
        cursor.close()


def seq_bounds(conn: Connection, start: datetime, end: datetime) -> tuple[int, int] | None:
    """First and last seq of the entries with ``start <= occurred_at < end`` (None: no entries)."""
    row = conn.execute(
        select(func.min(AuditEntry.seq), func.max(AuditEntry.seq)).where(
            AuditEntry.occurred_at >= start, AuditEntry.occurred_at < end
        )
    ).one()
    return None if row[0] is None else (int(row[0]), int(row[1]))


def head_time(conn: Connection) -> datetime | None:
    return conn.execute(select(func.max(AuditEntry.occurred_at))).scalar_one_or_none()


def first_time(conn: Connection) -> datetime | None:
    """When the log began (the vault's first entry); None for an empty log."""
    return conn.execute(select(func.min(AuditEntry.occurred_at))).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class ReviewRun:
    """One review that ran (its ``audit:review:run`` entry): when, from where, over which period."""

    seq: int
    at: datetime
    access_point: str
    start: datetime
    end: datetime


def _moment(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def review_runs(conn: Connection | Session, since: datetime) -> list[ReviewRun]:
    """The reviews that ran at or after ``since``, oldest first; the log is the record of which days
    were reviewed (by the server, the CLI or the privacy officer's button)."""
    rows = conn.execute(
        select(AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.access_point, AuditEntry.details)
        .where(
            AuditEntry.tag == AuditTag.AUDIT_REVIEW_RUN.value,
            AuditEntry.decision == "allow",
            AuditEntry.occurred_at >= since,
        )
        .order_by(AuditEntry.seq)
    )
    runs = []
    for seq, at, access_point, details in rows:
        period = json.loads(details or "{}")
        start, end = _moment(period.get("from")), _moment(period.get("to"))
        if start is not None and end is not None:
            runs.append(ReviewRun(int(seq), at, access_point, start, end))
    return runs


def iter_review_batches(conn: Connection, first_seq: int, last_seq: int) -> Iterator[list[ReviewRow]]:
    sql = (
        f"SELECT seq, {_when(conn.dialect.name)}, tag, actor_id, case_id, decision, break_glass, "  # noqa: S608 - constants only
        f"CASE WHEN tag = '{LOOKUP_TAG}' THEN details END FROM audit_entries "
        "WHERE seq >= :first AND seq <= :last ORDER BY seq"
    )
    yield from _raw(conn, sql, {"first": first_seq, "last": last_seq})


def denials_between(conn: Connection, first_seq: int, last_seq: int) -> Iterator[tuple[int, str, str, str]]:
    """``(seq, occurred_at, actor_id, case_id)`` of the refused attempts on a case in the seq range:
    the probing detector's read-back before a period (``probing``)."""
    sql = (
        f"SELECT seq, {_when(conn.dialect.name)}, actor_id, case_id FROM audit_entries "  # noqa: S608 - constants only
        "WHERE seq >= :first AND seq <= :last AND decision = 'deny' AND actor_id IS NOT NULL "
        "AND case_id IS NOT NULL ORDER BY seq"
    )
    for batch in _raw(conn, sql, {"first": first_seq, "last": last_seq}):
        yield from batch


def hourly_reads(conn: Connection, first_seq: int, last_seq: int) -> Iterator[tuple[str, str, int, int]]:
    """``(actor_id, 'YYYY-MM-DD HH' UTC, reads, distinct cases)``: the baselines of volume and usual
    hours."""
    hour = (
        "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
        if conn.dialect.name == "postgresql"
        else "substr(occurred_at, 1, 13)"
    )
    tags = ", ".join(f"'{t}'" for t in sorted(CONTENT_TAGS))
    sql = (
        f"SELECT actor_id, {hour}, count(*), count(DISTINCT case_id) FROM audit_entries "  # noqa: S608 - constants only
        f"WHERE seq >= :first AND seq <= :last AND decision = 'allow' AND actor_id IS NOT NULL "
        f"AND tag IN ({tags}) GROUP BY 1, 2"
    )
    for batch in _raw(conn, sql, {"first": first_seq, "last": last_seq}):
        for actor, bucket, count, cases in batch:
            yield actor, bucket, int(count), int(cases)


@dataclass(frozen=True, slots=True)
class HourInfo:
    epoch: int  # seconds since 1970 at the start of the UTC hour
    day: str  # local (Europe/Amsterdam) calendar day, ISO
    hour: int  # local hour 0..23


class TimeCache:
    """UTC hour text -> epoch and local day/hour; a handful of conversions per day of log."""

    def __init__(self) -> None:
        self._cache: dict[str, HourInfo] = {}

    def hour(self, text: str) -> HourInfo:
        key = text[:13]
        info = self._cache.get(key)
        if info is None:
            moment = datetime(int(key[:4]), int(key[5:7]), int(key[8:10]), int(key[11:13]), tzinfo=UTC)
            local = moment.astimezone(NL_TZ)
            info = HourInfo(int(moment.timestamp()), local.date().isoformat(), local.hour)
            self._cache[key] = info
        return info

    def epoch(self, text: str) -> tuple[HourInfo, int]:
        info = self.hour(text)
        return info, info.epoch + int(text[14:16]) * 60 + int(text[17:19])

    @staticmethod
    def local_day(moment: datetime) -> date:
        return moment.astimezone(NL_TZ).date()
