"""D8 / D20: a break-the-glass reader is refused the reporter's identity (p:d8-reporter-identity-withheld),
so the journal notes and document titles they do get show every recorded detail of the reporter as
"[melder]" — whole words, case- and accent-insensitive, the whole name and each name part of three
letters or more, the contact and the organisation. Staff of the case read the text unchanged. The
reporter row is decrypted only to mask: no reporter-identity read is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from tests.helpers import case_entries, ctx_for, make_team, make_user, upload
from vault.context import Context
from vault.domain import AuditTag, Role
from vault.errors import Forbidden
from vault.runtime import Vault
from vault.services.case_view import read_reporter_identity, view_case
from vault.services.cases import open_report
from vault.services.journal import add_note, read_notes
from vault.services.reporter_mask import MASK
from vault.services.subjects import PersonFields, Relation, ReporterFields

JUSTIFICATION = "Acute zorg om de veiligheid van het kind vannacht, collega ziek."
REPORTER = ReporterFields(
    name="Fenna van der Pietersen-Ölçek",
    professional=False,
    contact="06-12345678, fenna@example.nl",
    organisation="Sportclub De Zwaluw",
)
# Every form in which staff write the reporter's recorded details down, and what is left of it.
WRITTEN = (
    "Melder Fenna Pietersen belde terug; zij is de buurvrouw. "
    "FENNA VAN DER PIETERSEN-OLCEK bevestigt. Bel haar op 06 1234 5678 of mail fenna@example.nl. "
    "Zij traint bij sportclub de zwaluw. Mevrouw Ölçek zag de vader."
)
LEFT = (
    f"Melder {MASK} belde terug; zij is de buurvrouw. "
    f"{MASK} bevestigt. Bel haar op {MASK} of mail {MASK}. "
    f"Zij traint bij {MASK}. Mevrouw {MASK} zag de vader."
)


@dataclass(frozen=True)
class Setting:
    case_id: str
    worker: Context
    outsider: Context


@pytest.fixture
def setting(vault: Vault) -> Setting:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    outsider_id = make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)])
    outsider = ctx_for(vault, outsider_id, Role.MEDEWERKER)
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=REPORTER,
            subjects=[(Relation.CHILD, PersonFields(name="Sam Terpstra", date_of_birth=date(2016, 4, 5)))],
        ).id
    return Setting(case_id, worker, outsider)


def test_d8_d20_break_the_glass_notes_show_the_reporters_details_masked(
    vault: Vault, setting: Setting
) -> None:
    s = setting
    add_note(vault, s.worker, s.case_id, text=WRITTEN)
    with pytest.raises(Forbidden):  # the gate withholds the identity from the emergency reader ...
        read_reporter_identity(vault, s.outsider, s.case_id)
    # ... and the notes read under the same emergency do not hand it out.
    [note] = read_notes(vault, s.outsider, s.case_id, break_glass_justification=JUSTIFICATION)
    assert note.text == LEFT
    for part in ("Fenna", "Pietersen", "Ölçek", "Olcek", "1234", "example", "Zwaluw"):
        assert part.lower() not in note.text.lower()
    # Staff of the case read what was written.
    [own] = read_notes(vault, s.worker, s.case_id)
    assert own.text == WRITTEN


def test_d8_words_that_only_resemble_the_reporters_details_stay(vault: Vault, setting: Setting) -> None:
    """Whole words only, no particles on their own: the rest of the note stays readable (residual:
    an inflected form, a nickname or a misspelling is not caught either)."""
    s = setting
    text = "Van der Berg (school) zag Fennaatje en de Pietersens; de zwaluw vloog over."
    add_note(vault, s.worker, s.case_id, text=text)
    [note] = read_notes(vault, s.outsider, s.case_id, break_glass_justification=JUSTIFICATION)
    assert note.text == text


def test_d8_d20_break_the_glass_document_titles_show_the_reporters_name_masked(
    vault: Vault, setting: Setting
) -> None:
    s = setting
    doc = upload(vault, s.worker, s.case_id, b"verslag", title="Gesprek met melder Fenna Pietersen")
    view = view_case(vault, s.outsider, s.case_id, break_glass_justification=JUSTIFICATION)
    assert {d.document_id: d.title for d in view.documents} == {doc: f"Gesprek met melder {MASK}"}
    own = view_case(vault, s.worker, s.case_id)
    assert {d.document_id: d.title for d in own.documents} == {doc: "Gesprek met melder Fenna Pietersen"}


def test_d8_d16_masking_records_no_reporter_identity_read_and_the_reads_are_flagged(
    vault: Vault, setting: Setting
) -> None:
    """The identity is decrypted only to mask, inside the notes' (and titles') own audited emergency
    read: it is not disclosed, so no reporter-identity read is recorded."""
    s = setting
    add_note(vault, s.worker, s.case_id, text=WRITTEN)
    upload(vault, s.worker, s.case_id, b"verslag", title="Gesprek met Fenna")
    read_notes(vault, s.outsider, s.case_id, break_glass_justification=JUSTIFICATION)
    view_case(vault, s.outsider, s.case_id, break_glass_justification=JUSTIFICATION)
    assert case_entries(vault, s.case_id, AuditTag.DOSSIER_REPORTER_IDENTITY_READ) == []
    for tag in (AuditTag.DOSSIER_NOTES_READ, AuditTag.DOSSIER_DOCUMENT_TITLES_READ):
        reads = case_entries(vault, s.case_id, tag)
        assert [(e.actor_id, e.break_glass) for e in reads] == [(s.outsider.actor_id, True)]
