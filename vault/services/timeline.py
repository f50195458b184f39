"""The case timeline (issue 17): what happened on one case, newest first — reads grouped, filtered by
kind and by person, in pages.

Read through the gate: a READ decision on the case with its own audit entry ``dossier:timeline:read``
(which then shows in the timeline itself). The case view's access rules hold: oversight entries
(``audit:…``: access reports, break-glass reviews …) only for the privacy officer
(``case_view.sees_oversight``). Usernames only for staff and the privacy officer; anyone else who
may read the case (a professional on their own advice case) sees "u" for their own entries and a
role for the others', cannot filter by person, and does not see staff's own business
(``case_view.STAFF_MATTERS``: own-motion, journal, disclosures, the reporter's identity, consents),
nor a partner's retrievals under a disclosure (role ``partner``: they tell with whom it was shared).

Grouping: after filtering, an unbroken run of reads (kind ``inzage``) by the same person on the
same (Amsterdam) day collapses per tag into one line with a count: "Zaak bekeken door marieke,
12×". Anything else in between (a change, another person) ends the run; changes, disclosures and
refusals are never collapsed. The newest
``WINDOW`` entries are grouped and paged; the privacy officer's access report (D15) has them all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.domain import STAFF_ROLES, Action, AuditTag, Role
from vault.domain import Decision as Effect
from vault.errors import InvalidInput
from vault.models import AuditEntry, User
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.case_view import OVERSIGHT_PREFIX, STAFF_MATTERS, TimelineEntry, sees_oversight
from vault.services.gate import Admission, GateRequest, pass_gate

__all__ = [
    "PER_PAGE",
    "WINDOW",
    "Timeline",
    "TimelineKind",
    "TimelineLine",
    "case_timeline",
    "group_view_entries",
    "kind_of",
    "tags_of_kind",
]

PER_PAGE: Final = 20
WINDOW: Final = 2000
_READ_ACTIONS = frozenset({"read", "read_failed", "listed", "viewed", "searched", "lookup", "items-listed"})
_NAMES_FOR = STAFF_ROLES | {str(Role.PRIVACY_OFFICER)}
_PARTNER = str(Role.PARTNER)


class TimelineKind(StrEnum):
    """What kind of event a timeline line is (the filter "soort")."""

    READ = "inzage"
    CHANGE = "wijziging"
    DISCLOSURE = "verstrekking"
    ACCESS = "toegang"  # refusals and denied attempts
    OVERSIGHT = "toezicht"  # the privacy officer's oversight (only they see it)


def kind_of(tag: str) -> TimelineKind:
    if tag.startswith(OVERSIGHT_PREFIX):
        return TimelineKind.OVERSIGHT
    if tag.endswith((":denied", ":lockout")):
        return TimelineKind.ACCESS
    if tag.rsplit(":", 1)[-1] in _READ_ACTIONS:
        return TimelineKind.READ
    if tag.startswith("disclosure:") or tag == AuditTag.RIGHTS_INZAGE_EXPORTED:
        return TimelineKind.DISCLOSURE
    return TimelineKind.CHANGE


def tags_of_kind(kind: TimelineKind) -> list[str]:
    return sorted(str(t) for t in AuditTag if kind_of(t) is kind)


@dataclass(frozen=True)
class TimelineLine:
    first_at: datetime
    last_at: datetime
    tag: str
    kind: TimelineKind
    count: int
    who: str | None  # a username, only for those who may see them
    actor_role: str | None
    own: bool
    denied: bool
    break_glass: bool
    actor_id: str | None = None  # for grouping only; never shown


@dataclass(frozen=True)
class Timeline:
    lines: list[TimelineLine]
    total: int  # lines (after grouping) in all pages
    page: int
    pages: int
    kind: TimelineKind | None
    person: str | None
    persons: list[tuple[str, str]]  # (user id, username) for the person filter; empty without names
    names_visible: bool
    truncated: bool  # more than WINDOW entries matched: the oldest are not in these pages


def _run_key(line: TimelineLine) -> tuple[object, ...] | None:
    """Reads by one person on one day, with the same decision and emergency flag, form a run."""
    if line.kind is not TimelineKind.READ:
        return None
    return (line.actor_id, line.actor_role, local_date(line.last_at), line.denied, line.break_glass)


def _group(lines: Iterable[TimelineLine]) -> list[TimelineLine]:
    """Collapse the reads of an unbroken run (newest first: one person, one day, nothing else in
    between) per tag: a page view's case, subjects and titles reads 12 times become three lines."""
    grouped: list[TimelineLine] = []
    run: tuple[object, ...] | None = None
    in_run: dict[str, int] = {}
    for line in lines:
        key = _run_key(line)
        if key is None or key != run:
            run, in_run = key, {}
        at = in_run.get(line.tag) if key is not None else None
        if at is None:
            if key is not None:
                in_run[line.tag] = len(grouped)
            grouped.append(line)
        else:
            grouped[at] = replace(grouped[at], first_at=line.first_at, count=grouped[at].count + line.count)
    return grouped


def _pages(total: int, page: int) -> tuple[int, int]:
    pages = max(1, math.ceil(total / PER_PAGE))
    return min(max(page, 1), pages), pages


def group_view_entries(entries: Sequence[TimelineEntry]) -> list[TimelineLine]:
    """The case view's own timeline (a break-the-glass view, read under its justification), newest
    first and grouped by tag and day; it carries no persons."""
    return _group(
        TimelineLine(e.at, e.at, e.tag, kind_of(e.tag), 1, None, None, False, False, False)
        for e in reversed(entries)
    )


def case_timeline(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    page: int = 1,
    kind: TimelineKind | str | None = None,
    person: str | None = None,
) -> Timeline:
    """One page of the case's timeline for this actor (see the module docstring). Raises as the
    gate does; ``InvalidInput`` for an unknown kind."""
    try:
        wanted = TimelineKind(kind) if kind else None
    except ValueError:
        raise InvalidInput("unknown timeline kind") from None
    oversight = sees_oversight(ctx)
    if wanted is TimelineKind.OVERSIGHT and not oversight:
        raise InvalidInput("unknown timeline kind")
    names_visible = ctx.role in _NAMES_FOR
    person = person if names_visible and person else None

    def read(session: Session, _: Admission) -> Timeline:
        visible = AuditEntry.case_id == case_id
        if not oversight:
            visible = visible & ~AuditEntry.tag.startswith(OVERSIGHT_PREFIX, autoescape=True)
        if not names_visible:
            visible = visible & ~or_(*(AuditEntry.tag.startswith(p, autoescape=True) for p in STAFF_MATTERS))
            # D3, D9: a partner's retrievals (and refusals) under a disclosure tell that Veilig Thuis
            # shared the case, and with whom: staff's business, as the disclosure lines are
            visible = visible & or_(AuditEntry.actor_role.is_(None), AuditEntry.actor_role != _PARTNER)
        stmt = select(
            AuditEntry.occurred_at,
            AuditEntry.tag,
            AuditEntry.actor_id,
            AuditEntry.actor_role,
            AuditEntry.decision,
            AuditEntry.break_glass,
        ).where(visible)
        if wanted is not None:
            stmt = stmt.where(AuditEntry.tag.in_(tags_of_kind(wanted)))
        if person is not None:
            stmt = stmt.where(AuditEntry.actor_id == person)
        rows = session.execute(stmt.order_by(AuditEntry.seq.desc()).limit(WINDOW + 1)).all()
        truncated = len(rows) > WINDOW
        persons: dict[str, str] = {}
        if names_visible:
            actor_ids = (
                select(AuditEntry.actor_id).where(visible, AuditEntry.actor_id.is_not(None)).distinct()
            )
            found = session.execute(select(User.id, User.username).where(User.id.in_(actor_ids))).all()
            persons = dict(found)
        lines = _group(
            TimelineLine(
                first_at=at,
                last_at=at,
                tag=tag,
                kind=kind_of(tag),
                count=1,
                who=persons.get(actor_id or "") if names_visible else None,
                actor_role=role,
                own=actor_id is not None and actor_id == ctx.actor_id,
                denied=decision == Effect.DENY,
                break_glass=bool(glass),
                actor_id=actor_id,
            )
            for at, tag, actor_id, role, decision, glass in rows[:WINDOW]
        )
        shown, pages = _pages(len(lines), page)
        return Timeline(
            lines=lines[(shown - 1) * PER_PAGE : shown * PER_PAGE],
            total=len(lines),
            page=shown,
            pages=pages,
            kind=wanted,
            person=person,
            persons=sorted(persons.items(), key=lambda p: p[1]),
            names_visible=names_visible,
            truncated=truncated,
        )

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ),
        tag=AuditTag.DOSSIER_TIMELINE_READ,
        object_type="timeline",
        object_id=case_id,
        then=read,
    )
