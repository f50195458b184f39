"""Session 18 review of break-the-glass (G3, D8, D20): the reporter's phone number written the way a
phone shows it (+31 6 …, 0031 6 …) reaches the emergency reader, while the recorded 06-number is masked."""

from __future__ import annotations

from datetime import date

import pytest

from tests.helpers import ctx_for, make_team, make_user
from vault.context import Context
from vault.domain import Role
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.journal import add_note, read_notes
from vault.services.reporter_mask import MASK
from vault.services.subjects import PersonFields, Relation, ReporterFields

WHY = "Acute zorg om de veiligheid van het kind vannacht, collega ziek."


def _setting(vault: Vault, contact: str) -> tuple[str, Context, Context]:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    outsider = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)]), Role.MEDEWERKER)
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=ReporterFields(name="Fenna Pietersen", professional=False, contact=contact),
            subjects=[(Relation.CHILD, PersonFields(name="Sam Terpstra", date_of_birth=date(2016, 4, 5)))],
        ).id
    return case_id, worker, outsider


@pytest.mark.parametrize(
    ("recorded", "written"),
    [
        ("06-12345678", "Melder belde vanaf +31 6 1234 5678 terug."),
        ("06-12345678", "Melder belde vanaf 0031 6 12345678 terug."),
        ("06-12345678", "Melder belde vanaf +31 (0)6 12345678 terug."),
        ("+31 6 12345678", "Melder belde vanaf 06-1234 5678 terug."),
        ("0031612345678", "Melder belde vanaf 06 12 34 56 78 terug."),
    ],
)
def test_d8_d20_the_reporters_number_in_international_form_is_masked(
    vault: Vault, recorded: str, written: str
) -> None:
    case_id, worker, outsider = _setting(vault, recorded)
    add_note(vault, worker, case_id, text=written)
    [note] = read_notes(vault, outsider, case_id, break_glass_justification=WHY)
    assert note.text.replace(f"+{MASK}", MASK) == f"Melder belde vanaf {MASK} terug."  # "+" may stay
    [own] = read_notes(vault, worker, case_id)
    assert own.text == written
