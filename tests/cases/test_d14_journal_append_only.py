"""D14 / D16: the journal is append-only in fact, not by convention. The database refuses changing a
note and removing one from a live case (destruction of the whole case still removes them, D11/D12);
a note's author, time, case and corrected note are bound into the seal of its text, so a database
writer who drops the triggers and re-attributes, back-dates or detaches a note is caught on read; a
corrected note names its corrections; and no note text can show itself in another order than it is
stored (bidirectional-text controls)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from tests.helpers import ApiUser, api_user, ctx_for, drop_append_only, make_team, make_user, team_id_of
from vault.context import Context, FrozenClock
from vault.crypto.fields import encrypt_text
from vault.domain import Role
from vault.errors import Integrity
from vault.models import CaseNote
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.destruction import destroy_case
from vault.services.journal import NOTE_COLUMN, NOTE_TABLE, NoteText, add_note, check_note_text, read_notes
from vault.services.keyring import unwrap_case_key
from vault.services.subjects import ReporterFields


@dataclass(frozen=True)
class Setting:
    case_id: str
    team: str
    worker: Context
    colleague: str


@pytest.fixture
def setting(vault: Vault) -> Setting:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    colleague = make_user(vault, Role.MEDEWERKER, teams=[team])
    return Setting(_case(vault, worker, team), team, worker, colleague)


def _case(vault: Vault, worker: Context, team: str) -> str:
    with vault.db.session() as session:
        return open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name="M", professional=True)
        ).id


def test_d14_the_database_refuses_changing_or_removing_a_note_of_a_live_case(
    vault: Vault, setting: Setting
) -> None:
    s = setting
    first = add_note(vault, s.worker, s.case_id, text="Eerste waarneming.")
    add_note(vault, s.worker, s.case_id, text="Correctie: tweede kind aanwezig.", corrects_id=first)
    for statement in (
        "UPDATE case_notes SET corrects_id = NULL",
        "UPDATE case_notes SET created_by = 'someone-else'",
        "DELETE FROM case_notes WHERE corrects_id IS NULL",
        "DELETE FROM case_notes",
    ):
        with pytest.raises(Exception, match="append-only"), vault.db.session() as session:
            session.execute(text(statement))
    notes = read_notes(vault, s.worker, s.case_id)
    assert sorted((n.corrects_id or "", n.author_id) for n in notes) == [
        ("", s.worker.actor_id),
        (first, s.worker.actor_id),
    ]


def test_d11_d12_destroying_the_case_still_removes_its_notes(vault: Vault, setting: Setting) -> None:
    s = setting
    kept = add_note(vault, s.worker, _case(vault, s.worker, s.team), text="Andere zaak.")
    first = add_note(vault, s.worker, s.case_id, text="Eerste.")
    add_note(vault, s.worker, s.case_id, text="Correctie.", corrects_id=first)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destroy_case(vault, operator, s.case_id, reason="request_granted")
    with vault.db.session() as session:
        assert session.scalars(select(CaseNote.id)).all() == [kept]


@pytest.mark.parametrize(
    "forgery",
    ["author", "time", "correction_link", "case"],
)
def test_d16_d14_a_notes_author_time_case_or_correction_link_changed_is_caught_on_read(
    vault: Vault, setting: Setting, forgery: str
) -> None:
    s = setting
    first = add_note(vault, s.worker, s.case_id, text="Eerste waarneming.")
    note = add_note(
        vault, s.worker, s.case_id, text="Vader sloeg het kind, zegt de school.", corrects_id=first
    )
    other = _case(vault, s.worker, s.team)
    with vault.db.session() as session:
        drop_append_only(session.connection(), vault, "case_notes")  # what a database owner can do
        row = session.get(CaseNote, note)
        assert row is not None
        changes = {
            "author": {"created_by": s.colleague},
            "time": {"created_at": row.created_at - timedelta(days=30)},
            "correction_link": {"corrects_id": None},
            "case": {"case_id": other},
        }[forgery]
        session.execute(update(CaseNote).where(CaseNote.id == note).values(**changes))
    case_id = other if forgery == "case" else s.case_id
    with pytest.raises(Integrity, match="does not match its seal"):
        read_notes(vault, s.worker, case_id)


def test_d14_a_note_sealed_before_the_binding_still_opens(vault: Vault, setting: Setting) -> None:
    """Notes written before migration 0030 (seal version 1: the id alone is bound) are not re-sealed
    and still open; one whose version is raised to 2 does not (no silent upgrade or downgrade)."""
    s = setting
    note_id = "7d0c8f5e-3a51-4a57-9d0e-1f6b2c3d4e5f"
    with vault.db.session() as session:
        dek = unwrap_case_key(session, vault.keys, s.case_id)
        session.add(
            CaseNote(
                id=note_id,
                case_id=s.case_id,
                text_enc=encrypt_text(
                    dek, table=NOTE_TABLE, column=NOTE_COLUMN, row_id=note_id, value="Oud."
                ),
                created_at=vault.clock.now(),
                created_by=s.worker.actor_id,
                seal_version=1,
            )
        )
    assert [n.text for n in read_notes(vault, s.worker, s.case_id)] == ["Oud."]
    with vault.db.session() as session:
        drop_append_only(session.connection(), vault, "case_notes")
        session.execute(update(CaseNote).where(CaseNote.id == note_id).values(seal_version=2))
    with pytest.raises(Integrity):
        read_notes(vault, s.worker, s.case_id)


def test_d14_a_corrected_note_names_its_corrections(
    vault: Vault, clock: FrozenClock, setting: Setting
) -> None:
    s = setting
    original = add_note(vault, s.worker, s.case_id, text="Vader heeft het kind geslagen.")
    clock.advance(seconds=60)
    correction = add_note(vault, s.worker, s.case_id, text="Correctie: de oom.", corrects_id=original)
    notes = {n.note_id: n for n in read_notes(vault, s.worker, s.case_id)}
    assert notes[original].corrected_by == ((correction, notes[correction].created_at),)
    assert notes[correction].corrected_by == ()


def test_d14_the_api_names_the_corrections_of_a_note(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker: ApiUser = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Noord")
    ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
    case_id = _case(vault, ctx, team_id_of(vault, "Team Noord"))
    url = f"/api/v1/cases/{case_id}/notes"
    original = client.post(url, headers=worker.headers, json={"text": "Vader."}).json()["id"]
    clock.advance(seconds=60)
    correction = client.post(url, headers=worker.headers, json={"text": "Oom.", "corrects_id": original})
    assert correction.status_code == 201, correction.text
    listed = {n["id"]: n for n in client.get(url, headers=worker.headers).json()}
    assert listed[original]["corrected_by"] == [correction.json()["id"]]
    assert listed[correction.json()["id"]]["corrected_by"] == []


@pytest.mark.parametrize(
    "disguise", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u200e", "\x85"]
)
def test_d14_d16_a_note_with_bidirectional_or_other_disguising_characters_is_refused(disguise: str) -> None:
    """Session 12: a right-to-left override shows a text in another order than it was typed; a note,
    never corrected in place, must read as it is stored."""
    with pytest.raises(NoteText) as refused:
        check_note_text(f"Kind is veilig{disguise} niet")
    assert refused.value.reason == "control"
    assert check_note_text("Regel een\n\tregel twee") == "Regel een\n\tregel twee"
