"""D20: a reviewed emergency access is closed; reads made after the privacy officer's review come up
for review again.

Break-the-glass reads by one actor, of one case, in one session, under the same justification form
one emergency access (``vault.audit.break_glass``). Once the privacy officer (FG) has reviewed it, the
next read of that grouping starts a new access (numbered by its first entry), which stands in the
FG's unreviewed list; before the review every read still joins the one access. The case's access
report (D15) and the daily log review (D21) follow the new grouping, and the review does not call
the justification "repeated" only because the same session went on after a review.

Real gate reads (``view_case``), real audit entries, the real review service; the clock is the only
test double.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.logcontrole.conftest import DAY, World, of
from tests.logcontrole.conftest import world as world  # the log review's small organisation
from vault.audit.break_glass import accesses_of_entries
from vault.domain import Role
from vault.errors import Conflict
from vault.models import AuditEntry, BreakGlassAccess
from vault.services.audit_reports import (
    ReviewOutcome,
    break_glass_list,
    case_access_report,
    review_break_glass,
)
from vault.services.case_view import view_case

NOON = DAY + timedelta(hours=10)  # 11:00 in Amsterdam
WHY = "Politie belt: acute zorgen over de kinderen in dit gezin, team niet bereikbaar"


def _review(world: World, access: int, at: datetime) -> None:
    fg = world.ctx(world.fg, at, Role.PRIVACY_OFFICER)
    with world.vault.db.session() as session:
        review_break_glass(session, world.vault, fg, access, ReviewOutcome.JUSTIFIED)


def _unreviewed(world: World, at: datetime) -> dict[int, set[int]]:
    """The FG's work list: access number -> the seqs of its reads."""
    fg = world.ctx(world.fg, at, Role.PRIVACY_OFFICER)
    with world.vault.db.session() as session:
        todo = break_glass_list(session, world.vault, fg, unreviewed_only=True)["entries"]
    return {item["access"]: {read["seq"] for read in item["reads"]} for item in todo}


def _emergency_reads(world: World, at: datetime) -> list[int]:
    """One break-the-glass opening of the case page by b1 (other team), through the gate; the seqs of
    the break-the-glass entries it wrote."""
    with world.vault.db.session() as session:
        before = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    view_case(world.vault, world.ctx(world.b1, at), world.case, break_glass_justification=WHY)
    with world.vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.seq)
                .where(AuditEntry.seq > before, AuditEntry.break_glass.is_(True))
                .order_by(AuditEntry.seq)
            )
        )


def test_d20_emergency_reads_after_a_review_are_listed_for_review(world: World) -> None:
    """The reviewer's case: fifteen reads hours later, same session and text, after a "justified"."""
    first = world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification=WHY)
    _review(world, first, NOON + timedelta(minutes=30))
    later = [
        world.log(
            world.b1,
            NOON + timedelta(hours=5, minutes=i),
            case_id=world.case,
            break_glass=True,
            justification=WHY,
        )
        for i in range(15)
    ]
    todo = _unreviewed(world, NOON + timedelta(hours=6))
    assert todo == {later[0]: set(later)}, (
        "the reads after the review are one new access, numbered by the first"
    )


def test_d20_reads_join_the_access_until_it_is_reviewed_then_a_new_one_starts(world: World) -> None:
    before = _emergency_reads(world, NOON) + _emergency_reads(world, NOON + timedelta(minutes=20))
    assert _unreviewed(world, NOON + timedelta(minutes=25)) == {before[0]: set(before)}
    _review(world, before[-1], NOON + timedelta(minutes=30))  # any entry of the access names it

    after = _emergency_reads(world, NOON + timedelta(hours=3))
    assert _unreviewed(world, NOON + timedelta(hours=3, minutes=5)) == {after[0]: set(after)}
    with world.vault.db.session() as session:
        grouped = accesses_of_entries(session, before + after)
        keys = list(session.scalars(select(BreakGlassAccess.session_key).order_by(BreakGlassAccess.seq)))
    assert {seq: access for seq, (access, _) in grouped.items()} == {
        **dict.fromkeys(before, before[0]),
        **dict.fromkeys(after, after[0]),
    }
    assert len(set(keys)) == 2  # the grouping index still holds one row per key

    # The second access can be reviewed in turn (the first cannot twice); the next read starts a third.
    fg = world.ctx(world.fg, NOON + timedelta(hours=4), Role.PRIVACY_OFFICER)
    with world.vault.db.session() as session, pytest.raises(Conflict):
        review_break_glass(session, world.vault, fg, before[0], ReviewOutcome.JUSTIFIED)
    _review(world, after[0], NOON + timedelta(hours=4))
    third = _emergency_reads(world, NOON + timedelta(hours=5))
    assert _unreviewed(world, NOON + timedelta(hours=5, minutes=5)) == {third[0]: set(third)}


def test_d20_d15_access_report_shows_the_new_access_with_its_justification(world: World) -> None:
    first = world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification=WHY)
    _review(world, first, NOON + timedelta(minutes=30))
    later = world.log(
        world.b1, NOON + timedelta(hours=2), case_id=world.case, break_glass=True, justification=WHY
    )

    fg = world.ctx(world.fg, NOON + timedelta(hours=3), Role.PRIVACY_OFFICER)
    with world.vault.db.session() as session:
        lines = case_access_report(session, world.vault, fg, world.case)["accesses"]
    shown = {
        line["seq"]: (line["break_glass_access"], line["justification"])
        for line in lines
        if line["break_glass"]
    }
    assert shown == {first: (first, WHY), later: (later, WHY)}


def test_d20_d21_going_on_after_a_review_is_no_repeated_justification(world: World) -> None:
    """ "Repeated" means the same text given for another emergency access (another session or case);
    the same session going on after the FG's review is not a re-use of the text."""
    first = world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification=WHY)
    _review(world, first, NOON + timedelta(minutes=30))
    world.log(world.b1, NOON + timedelta(hours=2), case_id=world.case, break_glass=True, justification=WHY)
    [finding] = of(world.review(), "break_glass")
    assert "repeated" not in finding.reason

    # A real re-use (another case) still is.
    world.log(
        world.b1, NOON + timedelta(hours=3), case_id=world.other_case, break_glass=True, justification=WHY
    )
    reasons = {f.case_id: f.reason for f in of(world.review(), "break_glass")}
    assert "repeated" in reasons[world.other_case]
