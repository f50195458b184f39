"""D8, D22: the review is the only barrier between staff free text and the family's copy. A release
of a note or title that names the case's recorded reporter (whole words, case- and accent-insensitive,
the whole name or a name part) is refused (409, rule ``d8-release-names-reporter``, audited; nothing
recorded), unless the reporter's consent is recorded. The export checks again (fail closed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select

from tests.helpers import pdf_text
from vault.context import Context, FrozenClock
from vault.errors import Conflict
from vault.models import AuditEntry, InzageItemReview
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.inzage import ReviewDecision, export_for_subject, render_inzage_pdf
from vault.services.inzage_review import RELEASE_NAMES_REPORTER_RULE, review_free_text
from vault.services.journal import add_note
from vault.services.subjects import (
    PersonFields,
    Relation,
    ReporterFields,
    add_subject,
    record_reporter_consent,
)

REPORTER = "Anja Bakker-Kanarie"


@dataclass(frozen=True)
class Setup:
    case_id: str
    mother: str
    request_id: str
    item: str
    worker: Context


def _setup(vault: Vault, team: str, worker: Context, clock: FrozenClock, text: str) -> Setup:
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name=REPORTER, professional=False)
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    note = add_note(vault, worker, case_id, text=text)
    worker = replace(worker, factor_checked_at=clock.now())
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    return Setup(case_id, mother, request.id, f"note:{note}", worker)


def test_d8_a_released_note_never_puts_the_recorded_reporters_name_in_the_copy(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    s = _setup(vault, team, worker, clock, f"Buurvrouw {REPORTER} belde opnieuw: weer geschreeuw gehoord.")
    with pytest.raises(Conflict) as refused:
        review_free_text(vault, s.worker, s.request_id, {s.item: ReviewDecision.RELEASED})
    assert refused.value.rule == RELEASE_NAMES_REPORTER_RULE
    with vault.db.session() as session:
        assert session.scalars(select(InzageItemReview)).first() is None  # nothing recorded
        denial = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
    assert (denial.tag, denial.rule) == ("dossier:access:denied", RELEASE_NAMES_REPORTER_RULE)
    assert REPORTER not in (denial.details or "")  # ids and codes only
    export = export_for_subject(vault, s.worker, s.case_id, s.mother, access_request_id=s.request_id)
    text = json.dumps(export.as_dict(), ensure_ascii=False)
    pdf = " ".join(pdf_text(render_inzage_pdf(export)).split())
    assert REPORTER not in text, "the copy (JSON) names the reporter (D8)"
    assert REPORTER not in pdf, "the copy (PDF) names the reporter (D8)"


@pytest.mark.parametrize("mention", ["bakker-kanarie", "ANJA", "Ánja belde", "mevrouw Bakker‑Kanarie"])
def test_d8_a_name_part_in_any_case_or_accent_is_caught(
    vault: Vault, team: str, worker: Context, clock: FrozenClock, mention: str
) -> None:
    s = _setup(vault, team, worker, clock, f"Gesprek: {mention} vertelde over de avond.")
    with pytest.raises(Conflict):
        review_free_text(vault, s.worker, s.request_id, {s.item: ReviewDecision.RELEASED})


def test_d8_a_text_without_the_name_is_released_and_consent_lifts_the_check(
    vault: Vault, team: str, worker: Context, clock: FrozenClock
) -> None:
    s = _setup(vault, team, worker, clock, "Anjali en de bakkerij: geen naam van de melder.")
    review_free_text(vault, s.worker, s.request_id, {s.item: ReviewDecision.RELEASED})  # no whole-word match
    named = add_note(vault, s.worker, s.case_id, text=f"{REPORTER} belde.")
    record_reporter_consent(vault, s.worker, s.case_id)
    review_free_text(vault, s.worker, s.request_id, {f"note:{named}": ReviewDecision.RELEASED})
    export = export_for_subject(vault, s.worker, s.case_id, s.mother, access_request_id=s.request_id)
    assert sorted(n["text"] for n in export.notes) == [
        f"{REPORTER} belde.",
        "Anjali en de bakkerij: geen naam van de melder.",
    ]
