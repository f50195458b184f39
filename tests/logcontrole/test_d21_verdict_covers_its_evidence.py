"""D21: a verdict covers the accesses the privacy officer judged, not later ones.

The review runs again and again over the last days and finds the same finding (same detector,
person, case, local day). New evidence added to a finding the officer already judged ("verklaard",
"geescaleerd") re-opens it: status back to "nieuw", the re-opening audited by the review with the
verdict it had and how many new entries (ids and counts only). The earlier verdict stays: who gave
it, when, its sealed comment, and its own audit entry, shown in the finding's history.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from tests.logcontrole.conftest import DAY, World, of
from vault.domain import AuditTag, Role
from vault.logcontrole.detectors import MAX_EVIDENCE
from vault.logcontrole.service import finding_detail, set_case_protected, set_finding_status
from vault.logcontrole.store import REOPEN_RULE, FindingRow
from vault.models import AuditEntry, Finding, FindingEntry

NOON = DAY + timedelta(hours=10)  # 11:00 in Amsterdam
WHY = "Waarneming voor de eigenaar, besproken."


def _protected_finding(world: World) -> tuple[int, FindingRow]:
    """A colleague's read of a protected dossier at 11:00, and the one finding it gives."""
    leader = world.ctx(world.leader, world.vault.clock.now(), Role.TEAMLEIDER)
    set_case_protected(world.vault, leader, world.case, True)
    seq = world.log(world.a2, NOON, case_id=world.case)
    found = of(world.review(), "protected")
    assert len(found) == 1
    return seq, found[0]


def _judge(world: World, finding_id: int, status: str, comment: str | None = WHY) -> None:
    fg = world.ctx(world.fg, NOON + timedelta(hours=1), Role.PRIVACY_OFFICER)
    with world.vault.db.session() as session:
        set_finding_status(session, world.vault, fg, finding_id, status, comment)


def _evidence(world: World, finding_id: int) -> set[int]:
    with world.vault.db.session() as session:
        return set(session.scalars(select(FindingEntry.seq).where(FindingEntry.finding_id == finding_id)))


def _status_entries(world: World, finding_id: int) -> list[AuditEntry]:
    with world.vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(
                    AuditEntry.tag == AuditTag.AUDIT_FINDING_STATUS_CHANGED.value,
                    AuditEntry.object_id == str(finding_id),
                )
                .order_by(AuditEntry.seq)
            )
        )


def _last_run(world: World) -> dict[str, object]:
    with world.vault.db.session() as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.tag == AuditTag.AUDIT_REVIEW_RUN.value)
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        ).one()
        details: dict[str, object] = json.loads(entry.details)
        return details


def test_d21_later_reads_after_an_explained_verdict_reopen_the_finding(world: World) -> None:
    first, finding = _protected_finding(world)
    _judge(world, finding.id, "verklaard")

    # Later that day the same colleague reads the protected dossier ten more times.
    later = [world.log(world.a2, NOON + timedelta(hours=4, minutes=i), case_id=world.case) for i in range(10)]
    after = of(world.review(), "protected")

    assert [(f.id, f.status) for f in after] == [(finding.id, "nieuw")]
    assert _evidence(world, finding.id) == {first, *later}
    # The earlier verdict stays: who, when, why (sealed), and its audit entry before the re-opening.
    reopened = after[0]
    assert reopened.status_by == world.fg
    assert reopened.has_comment
    verdict, reopening = _status_entries(world, finding.id)
    assert (verdict.actor_id, json.loads(verdict.details)["status"]) == (world.fg, "verklaard")
    assert reopening.rule == REOPEN_RULE
    assert reopening.case_id == world.case
    assert json.loads(reopening.details) == {
        "status": "nieuw",
        "reopened_from": "verklaard",
        "new_evidence": 10,
        "first_new_seq": min(later),
    }
    assert _last_run(world)["reopened"] == 1


def test_d21_the_finding_shows_its_earlier_verdict_after_reopening(world: World) -> None:
    _, finding = _protected_finding(world)
    _judge(world, finding.id, "verklaard")
    world.log(world.a2, NOON + timedelta(hours=4), case_id=world.case)
    world.review()

    fg = world.ctx(world.fg, NOON + timedelta(hours=6), Role.PRIVACY_OFFICER)
    with world.vault.db.session() as session:
        detail = finding_detail(session, world.vault, fg, finding.id)
    assert detail["comment"] == WHY
    history = [(h["status"], h["reopened_from"], h["new_evidence"]) for h in detail["history"]]
    assert history == [("verklaard", None, None), ("nieuw", "verklaard", 1)]
    assert detail["history"][0]["actor_id"] == world.fg


def test_d21_an_escalated_finding_with_new_evidence_is_reopened(world: World) -> None:
    _, finding = _protected_finding(world)
    _judge(world, finding.id, "geescaleerd", None)
    world.log(world.a2, NOON + timedelta(hours=4), case_id=world.case)
    after = of(world.review(), "protected")
    assert [(f.id, f.status) for f in after] == [(finding.id, "nieuw")]
    assert json.loads(_status_entries(world, finding.id)[-1].details)["reopened_from"] == "geescaleerd"


def test_d21_a_review_without_new_evidence_keeps_the_verdict(world: World) -> None:
    """The near miss: the same period reviewed again (the hourly run) changes no verdict."""
    _, finding = _protected_finding(world)
    _judge(world, finding.id, "verklaard")
    world.log(world.a2, NOON + timedelta(hours=4), case_id=world.other_case)  # not protected
    after = of(world.review(), "protected")
    assert [(f.id, f.status) for f in after] == [(finding.id, "verklaard")]
    assert len(_status_entries(world, finding.id)) == 1
    assert _last_run(world)["reopened"] == 0


def test_d21_a_finding_in_progress_takes_new_evidence_without_a_reopening(world: World) -> None:
    _, finding = _protected_finding(world)
    _judge(world, finding.id, "in_behandeling", None)
    world.log(world.a2, NOON + timedelta(hours=4), case_id=world.case)
    after = of(world.review(), "protected")
    assert [(f.id, f.status) for f in after] == [(finding.id, "in_behandeling")]
    assert len(_status_entries(world, finding.id)) == 1


def test_d21_a_verdict_on_a_full_evidence_list_is_reopened_by_later_reads(world: World) -> None:
    """The evidence list holds MAX_EVIDENCE entries; a read after the verdict has no room in it, but
    the finding's period grows and the verdict no longer covers it."""
    leader = world.ctx(world.leader, world.vault.clock.now(), Role.TEAMLEIDER)
    set_case_protected(world.vault, leader, world.case, True)
    for i in range(MAX_EVIDENCE):
        world.log(world.a2, NOON + timedelta(seconds=i), case_id=world.case)
    (finding,) = of(world.review(), "protected")
    _judge(world, finding.id, "verklaard")
    world.log(world.a2, NOON + timedelta(hours=4), case_id=world.case)
    (after,) = of(world.review(), "protected")
    assert (after.id, after.status) == (finding.id, "nieuw")
    assert after.last_at == NOON + timedelta(hours=4)
    assert json.loads(_status_entries(world, finding.id)[-1].details)["new_evidence"] == 0


def test_d21_a_review_of_part_of_the_day_does_not_shrink_a_findings_period(world: World) -> None:
    _, finding = _protected_finding(world)
    world.log(world.a2, NOON + timedelta(hours=4), case_id=world.case)
    world.review()
    world.review(start=NOON + timedelta(hours=2))  # the afternoon only: the morning read is outside
    with world.vault.db.session() as session:
        row = session.get(Finding, finding.id)
        assert row is not None
        assert (row.first_at, row.last_at) == (NOON, NOON + timedelta(hours=4))
