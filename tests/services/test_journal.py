"""Journal notes (aantekeningen, issue 17): sealed under the case key (D18), written and read only by
the case's staff through the gate with audit entries that hold no text (D16), read-only under
break-the-glass (D20), append-only, removed with the case (D11/D12), and kept out of an inzage copy
until released item by item (D22)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from structlog.testing import capture_logs

from tests.helpers import ctx_for, drop_append_only, make_org, make_team, make_user, pdf_text
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.errors import Forbidden, Integrity, InvalidInput, NotFound
from vault.models import AuditEntry, CaseNote
from vault.runtime import Vault
from vault.services import disclosures
from vault.services.cases import open_professional_advice, open_report
from vault.services.destruction import destroy_case
from vault.services.inzage import (
    NOT_REVIEWED,
    WITHHELD_AFTER_REVIEW,
    ReviewDecision,
    export_for_subject,
    render_inzage_pdf,
)
from vault.services.inzage_review import list_free_text, review_free_text
from vault.services.journal import MAX_NOTE_LENGTH, NoteText, add_note, check_note_text, read_notes
from vault.services.rights import RequestedBy, record_access_request
from vault.services.subjects import PersonFields, Relation, ReporterFields

NOTE = "Kanarie: gesprek met buurvrouw Jansen.\nZij zag de vader op 3 maart."
SECOND = "Kanarie tweede: huisbezoek gepland."
CHILD = "Sam Terpstra"
JUSTIFICATION = "Acute zorg om de veiligheid van het kind vannacht, collega ziek."


@dataclass(frozen=True)
class Setting:
    case_id: str
    child_id: str
    team: str
    worker: Context
    worker_name: str


@pytest.fixture
def setting(vault: Vault) -> Setting:
    team = make_team(vault)
    user_id = make_user(vault, Role.MEDEWERKER, teams=[team])
    worker = ctx_for(vault, user_id, Role.MEDEWERKER)
    with vault.db.session() as session:
        case = open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=ReporterFields(name="Melder", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name=CHILD, date_of_birth=date(2016, 4, 5)))],
        )
        case_id = case.id
    from vault.models import Subject, User

    with vault.db.session() as session:
        child_id = session.scalars(select(Subject.id).where(Subject.case_id == case_id)).one()
        username = session.scalars(select(User.username).where(User.id == user_id)).one()
    return Setting(case_id, child_id, team, worker, username)


def _entries(vault: Vault, case_id: str | None = None) -> list[AuditEntry]:
    with vault.db.session() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        if case_id is not None:
            stmt = stmt.where(AuditEntry.case_id == case_id)
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def _denials(vault: Vault, case_id: str, attempted: AuditTag) -> list[AuditEntry]:
    return [
        e
        for e in _entries(vault, case_id)
        if e.tag == AuditTag.DOSSIER_ACCESS_DENIED
        and json.loads(e.details).get("attempted") == str(attempted)
    ]


def test_notes_read_newest_first_with_author_time_and_line_breaks(
    vault: Vault, clock: FrozenClock, setting: Setting
) -> None:
    first = add_note(vault, setting.worker, setting.case_id, text=NOTE)
    clock.advance(seconds=60)
    second = add_note(vault, setting.worker, setting.case_id, text=f"  {SECOND}\r\n")
    notes = read_notes(vault, setting.worker, setting.case_id)
    assert [n.note_id for n in notes] == [second, first]
    assert notes[1].text == NOTE  # the line break is kept
    assert notes[0].text == SECOND  # outer blank space and CRLF normalised
    assert {n.author for n in notes} == {setting.worker_name}
    assert notes[0].created_at > notes[1].created_at
    assert "Kanarie" not in repr(notes)


def test_d18_note_is_sealed_at_rest(vault: Vault, setting: Setting) -> None:
    note_id = add_note(vault, setting.worker, setting.case_id, text=NOTE)
    with vault.db.session() as session:
        stored = session.get(CaseNote, note_id)
        assert stored is not None
        assert b"Kanarie" not in stored.text_enc
        # Every column of every row of the table, as the database holds it.
        rows = session.execute(text("SELECT * FROM case_notes")).all()
    assert "Kanarie" not in repr(rows)
    if vault.db.is_sqlite:
        db_file = Path(vault.settings.url.database or "")
        raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
        assert len(raw) > 10_000
        assert b"Kanarie" not in raw
        assert "Kanarie".encode("utf-16-le") not in raw


def test_d18_a_note_moved_to_another_row_or_case_does_not_open(vault: Vault, setting: Setting) -> None:
    first = add_note(vault, setting.worker, setting.case_id, text=NOTE)
    second = add_note(vault, setting.worker, setting.case_id, text=SECOND)
    with vault.db.session() as session:
        drop_append_only(session.connection(), vault, "case_notes")  # what a database owner can do
        sealed = session.get(CaseNote, first)
        assert sealed is not None
        session.execute(update(CaseNote).where(CaseNote.id == second).values(text_enc=sealed.text_enc))
    with pytest.raises(Integrity):
        read_notes(vault, setting.worker, setting.case_id)
    # The same ciphertext under its own id, but in another case (another key): fails too.
    with vault.db.session() as session:
        other = open_report(
            session,
            vault,
            setting.worker,
            team_id=setting.team,
            reporter=ReporterFields(name="M", professional=True),
        ).id
        session.execute(update(CaseNote).where(CaseNote.id == second).values(case_id=other))
        session.execute(update(CaseNote).where(CaseNote.id == first).values(case_id=other))
    with pytest.raises(Integrity):
        read_notes(vault, setting.worker, other)


def test_d16_audit_entries_and_logs_hold_ids_never_the_text(vault: Vault, setting: Setting) -> None:
    with capture_logs() as logs:
        note_id = add_note(vault, setting.worker, setting.case_id, text=NOTE)
        read_notes(vault, setting.worker, setting.case_id)
    entries = _entries(vault, setting.case_id)
    added = [e for e in entries if e.tag == AuditTag.DOSSIER_NOTE_ADDED]
    read = [e for e in entries if e.tag == AuditTag.DOSSIER_NOTES_READ]
    assert [(e.object_type, e.object_id, e.decision, e.actor_id) for e in added] == [
        ("note", note_id, "allow", setting.worker.actor_id)
    ]
    assert [(e.object_type, e.object_id, e.decision) for e in read] == [("notes", setting.case_id, "allow")]
    everything = repr([(e.details, e.object_id, e.purpose, e.rule) for e in _entries(vault)]) + repr(logs)
    assert "Kanarie" not in everything
    assert "buurvrouw" not in everything


def test_partner_never_reads_or_writes_notes_and_the_refusal_is_audited(
    vault: Vault, setting: Setting
) -> None:
    add_note(vault, setting.worker, setting.case_id, text=NOTE)
    org = make_org(vault, OrgType.LOCAL_TEAM)
    disclosures.create_disclosure(
        vault,
        setting.worker,
        disclosures.DisclosureRequest(
            contact_name="Marieke de Vries",  # D23
            contact_phone="030 123 45 67",
            case_id=setting.case_id,
            org_id=org,
            purpose="overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS, Category.REPORT}),
        ),
    )
    partner = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=org), Role.PARTNER, org_id=org)
    with pytest.raises(NotFound):
        read_notes(vault, partner, setting.case_id)
    with pytest.raises(NotFound):
        add_note(vault, partner, setting.case_id, text="Kanarie van de partner")
    assert len(_denials(vault, setting.case_id, AuditTag.DOSSIER_NOTES_READ)) == 1
    assert len(_denials(vault, setting.case_id, AuditTag.DOSSIER_NOTE_ADDED)) == 1
    with vault.db.session() as session:
        assert len(session.scalars(select(CaseNote)).all()) == 1


def test_staff_outside_the_team_are_refused_and_audited(vault: Vault, setting: Setting) -> None:
    add_note(vault, setting.worker, setting.case_id, text=NOTE)
    outsider = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)]), Role.MEDEWERKER)
    with pytest.raises(Forbidden):
        read_notes(vault, outsider, setting.case_id)
    with pytest.raises(Forbidden):
        add_note(vault, outsider, setting.case_id, text=SECOND)
    denied = _denials(vault, setting.case_id, AuditTag.DOSSIER_NOTES_READ)
    assert [(e.actor_id, e.decision) for e in denied] == [(outsider.actor_id, "deny")]
    assert _denials(vault, setting.case_id, AuditTag.DOSSIER_NOTE_ADDED)


def test_a_professional_on_their_own_advice_case_gets_no_journal(vault: Vault, setting: Setting) -> None:
    professional = make_user(vault, Role.PROFESSIONAL)
    with vault.db.session() as session:
        advice = open_professional_advice(
            session,
            vault,
            setting.worker,
            professional_id=professional,
            meldcode_step=1,
            team_id=setting.team,
        ).id
    add_note(vault, setting.worker, advice, text=NOTE)
    own = ctx_for(vault, professional, Role.PROFESSIONAL)
    with pytest.raises(Forbidden):
        read_notes(vault, own, advice)
    with pytest.raises(Forbidden):
        add_note(vault, own, advice, text=SECOND)
    assert {e.rule for e in _denials(vault, advice, AuditTag.DOSSIER_NOTES_READ)} == {"journal-staff-only"}
    assert {e.rule for e in _denials(vault, advice, AuditTag.DOSSIER_NOTE_ADDED)} == {"journal-staff-only"}
    # The refused write left nothing behind, not even its allow entry.
    assert [
        e
        for e in _entries(vault, advice)
        if e.tag == AuditTag.DOSSIER_NOTE_ADDED and e.actor_id == professional
    ] == []


def test_d20_break_the_glass_reads_notes_flagged_but_never_writes(vault: Vault, setting: Setting) -> None:
    add_note(vault, setting.worker, setting.case_id, text=NOTE)
    outsider = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)]), Role.MEDEWERKER)
    notes = read_notes(vault, outsider, setting.case_id, break_glass_justification=JUSTIFICATION)
    assert [n.text for n in notes] == [NOTE]
    reads = [e for e in _entries(vault, setting.case_id) if e.tag == AuditTag.DOSSIER_NOTES_READ]
    assert [(e.actor_id, e.break_glass) for e in reads] == [(outsider.actor_id, True)]
    with pytest.raises(Forbidden):
        add_note(vault, outsider, setting.case_id, text=SECOND)


def test_a_correction_is_a_new_note_and_the_earlier_one_stays(
    vault: Vault, clock: FrozenClock, setting: Setting
) -> None:
    first = add_note(vault, setting.worker, setting.case_id, text=NOTE)
    with vault.db.session() as session:
        sealed = session.get(CaseNote, first)
        assert sealed is not None
        before = sealed.text_enc
    clock.advance(seconds=60)
    correction = add_note(
        vault, setting.worker, setting.case_id, text="Correctie: het was 4 maart.", corrects_id=first
    )
    notes = read_notes(vault, setting.worker, setting.case_id)
    assert [(n.note_id, n.corrects_id) for n in notes] == [(correction, first), (first, None)]
    with vault.db.session() as session:
        again = session.get(CaseNote, first)
        assert again is not None
        assert again.text_enc == before
    # A note of another case cannot be "corrected" from here; the refusal is audited.
    with vault.db.session() as session:
        other = open_report(
            session,
            vault,
            setting.worker,
            team_id=setting.team,
            reporter=ReporterFields(name="M", professional=True),
        ).id
    elsewhere = add_note(vault, setting.worker, other, text=SECOND)
    with pytest.raises(NotFound):
        add_note(vault, setting.worker, setting.case_id, text="x", corrects_id=elsewhere)
    assert {e.rule for e in _denials(vault, setting.case_id, AuditTag.DOSSIER_NOTE_ADDED)} == {
        "journal-no-such-note"
    }


def test_note_text_is_checked_without_echoing_it() -> None:
    for typed, reason in (
        ("   \n ", "empty"),
        ("x" * (MAX_NOTE_LENGTH + 1), "too_long"),
        ("a\x00b", "control"),
    ):
        with pytest.raises(NoteText) as refused:
            check_note_text(typed)
        assert refused.value.reason == reason
        assert isinstance(refused.value, InvalidInput)
        assert "x" * 20 not in str(refused.value)
    assert check_note_text("a\r\nb\tc") == "a\nb\tc"
    assert len(check_note_text("y" * MAX_NOTE_LENGTH)) == MAX_NOTE_LENGTH


def test_d12_destroying_the_case_removes_its_notes(vault: Vault, setting: Setting) -> None:
    add_note(vault, setting.worker, setting.case_id, text=NOTE)
    with vault.db.session() as session:
        other = open_report(
            session,
            vault,
            setting.worker,
            team_id=setting.team,
            reporter=ReporterFields(name="M", professional=True),
        ).id
    kept = add_note(vault, setting.worker, other, text=SECOND)
    first = add_note(vault, setting.worker, setting.case_id, text=SECOND)
    add_note(vault, setting.worker, setting.case_id, text="correctie", corrects_id=first)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destroy_case(vault, operator, setting.case_id, reason="request_granted")
    with vault.db.session() as session:
        left = session.scalars(select(CaseNote.id)).all()
    assert left == [kept]


def test_d22_an_unreviewed_note_is_not_in_the_inzage_copy_and_a_released_one_is(
    vault: Vault, clock: FrozenClock, setting: Setting
) -> None:
    s = setting
    released = add_note(vault, s.worker, s.case_id, text=NOTE)
    clock.advance(seconds=60)
    withheld = add_note(vault, s.worker, s.case_id, text=SECOND)
    request = record_access_request(
        vault,
        s.worker,
        s.case_id,
        subject_id=s.child_id,
        received_on=date(2026, 3, 1),
        requested_by=RequestedBy.REPRESENTATIVE,  # a child under 12 (D13)
    )

    def copy() -> tuple[dict[str, Any], str, str]:
        export = export_for_subject(vault, s.worker, s.case_id, s.child_id, access_request_id=request.id)
        data = export.as_dict()
        return data, json.dumps(data, ensure_ascii=False), pdf_text(render_inzage_pdf(export))

    data, dumped, pdf = copy()
    assert "Kanarie" not in dumped
    assert "Kanarie" not in pdf
    assert data["notes"] == []
    reasons = {w["item"]: w["reason"] for w in data["withheld"]}
    assert reasons[f"note:{released}"] == NOT_REVIEWED
    assert reasons[f"note:{withheld}"] == NOT_REVIEWED
    # The reviewer sees the notes' text to judge it.
    items = {i.item: i for i in list_free_text(vault, s.worker, request.id)}
    assert items[f"note:{released}"].text == NOTE
    assert items[f"note:{released}"].decision is None
    review_free_text(
        vault,
        s.worker,
        request.id,
        {f"note:{released}": ReviewDecision.RELEASED, f"note:{withheld}": ReviewDecision.WITHHELD},
    )
    data, dumped, pdf = copy()
    assert [n["text"] for n in data["notes"]] == [NOTE]
    assert "Zij zag de vader" in pdf
    assert SECOND not in dumped
    assert "Kanarie tweede" not in pdf
    reasons = {w["item"]: w["reason"] for w in data["withheld"]}
    assert reasons[f"note:{withheld}"].startswith(WITHHELD_AFTER_REVIEW)  # with its ground (inzage)
    assert f"note:{released}" not in reasons
    tags = [(e.tag, e.object_type, e.object_id) for e in _entries(vault, s.case_id)]
    assert (AuditTag.RIGHTS_INZAGE_ITEM_RELEASED, "note", released) in tags
    assert (AuditTag.RIGHTS_INZAGE_ITEM_WITHHELD, "note", withheld) in tags
