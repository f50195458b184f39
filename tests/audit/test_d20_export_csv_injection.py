"""D20: the privacy officer's Dutch CSV export carries each emergency access's written justification —
free text written by the colleague under review. No text may become a live formula in the officer's
spreadsheet: every field is quoted, a cell holds no bare CR (which Excel and LibreOffice read as the end
of a row), and every line of a cell that starts like a formula is defused, not only the first."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.web.world import _ctx, build_world
from vault.audit.break_glass import ACCESS_TABLE
from vault.audit.export import CsvStyle, ExportFormat, _csv_cell, _csv_writer, export_entries
from vault.audit.queries import EntryFilter
from vault.audit.sealed import seal
from vault.context import Context
from vault.errors import InvalidInput
from vault.models import BreakGlassAccess
from vault.runtime import Vault
from vault.services.case_view import view_case
from vault.web.fg_reports import DUTCH_CSV

PAYLOAD = "=cmd|' /C calc'!A0"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_rows(text: str) -> list[list[str]]:
    """Rows as a spreadsheet reads them: CR, LF and CRLF each end a row outside quotes."""
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=";"))


def _live_lines(rows: list[list[str]]) -> list[str]:
    """Every cell, and every line inside a cell, that a spreadsheet would run as a formula."""
    return [line for row in rows for cell in row for line in cell.split("\n") if line.startswith(FORMULA)]


def _export(vault: Vault, officer_ctx: Context, fmt: ExportFormat = ExportFormat.CSV) -> str:
    out = io.StringIO()
    export_entries(vault, officer_ctx, EntryFilter(), fmt, out, justifications=True, style=DUTCH_CSV)
    return out.getvalue()


def _store_justification(vault: Vault, text: str) -> None:
    """A justification kept before control characters were refused (the row sealed as the vault does)."""
    with vault.db.session() as session:
        for seq in session.scalars(select(BreakGlassAccess.seq)).all():
            sealed = seal(vault, table=ACCESS_TABLE, column="justification", row_id=str(seq), text=text)
            session.execute(
                update(BreakGlassAccess).where(BreakGlassAccess.seq == seq).values(justification_enc=sealed)
            )


def test_d20_stored_justification_with_bare_cr_is_no_formula_in_the_officers_spreadsheet(
    vault: Vault,
) -> None:
    """The reviewer's reproduction: "…\\r=cmd…" kept as the justification; the Dutch CSV export must
    not let a spreadsheet start a row at the CR with a live formula."""
    world = build_world(vault)
    view_case(
        vault,
        _ctx(vault, world.outsider),
        world.case_id,
        break_glass_justification="Acuut gevaar voor het kind, nu",
    )
    _store_justification(vault, "Acuut gevaar voor het kind, dossier nu nodig\r" + PAYLOAD)

    text = _export(vault, _ctx(vault, world.officer))
    rows = _spreadsheet_rows(text)
    assert _live_lines(rows[1:]) == [], f"a spreadsheet runs these cells as formulas: {_live_lines(rows[1:])}"
    assert "\r" not in text
    cells = [cell for row in rows for cell in row if cell.startswith("Acuut gevaar")]
    assert cells
    assert all(cell.endswith("\n'" + PAYLOAD) for cell in cells)


def test_d20_justification_line_starting_with_a_formula_is_defused(vault: Vault) -> None:
    """A line break (allowed) followed by a formula: the line inside the quoted cell is defused too,
    while the JSON export keeps the text byte for byte."""
    world = build_world(vault)
    justification = "Acuut gevaar voor het kind, dossier nu nodig\n" + PAYLOAD
    view_case(vault, _ctx(vault, world.outsider), world.case_id, break_glass_justification=justification)
    officer = _ctx(vault, world.officer)

    rows = _spreadsheet_rows(_export(vault, officer))
    assert _live_lines(rows[1:]) == []
    assert any(
        cell == "Acuut gevaar voor het kind, dossier nu nodig\n'" + PAYLOAD for row in rows for cell in row
    )
    assert justification.replace("\n", "\\n") in _export(vault, officer, ExportFormat.JSON)


@pytest.mark.parametrize("bad", ["\r", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\x0b"])
def test_d20_service_refuses_a_justification_with_control_characters(vault: Vault, bad: str) -> None:
    """Every way in (API, web form, a download's header, the command line) ends in the gate, which
    refuses the text before anything is kept."""
    world = build_world(vault)
    with pytest.raises(InvalidInput, match="control characters"):
        view_case(
            vault,
            _ctx(vault, world.outsider),
            world.case_id,
            break_glass_justification=f"Acuut gevaar voor het kind{bad}{PAYLOAD}",
        )
    with vault.db.session() as session:
        assert session.scalars(select(BreakGlassAccess.seq)).all() == []


_cells = st.one_of(
    st.none(),
    st.booleans(),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet="=+-@\t\r\n\x0b\x0c\x1c\x85\u2028\u2029;\"' ab", max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_cells, min_size=1, max_size=4), min_size=1, max_size=5), st.sampled_from([",", ";"])
)
def test_d20_any_text_reads_back_as_one_row_per_entry_without_a_live_formula(
    entries: list[list[object]], delimiter: str
) -> None:
    """Hypothesis: whatever the cells hold, reading the CSV back (CR, LF and CRLF ending rows outside
    quotes, as a spreadsheet does) gives exactly one row per entry, every cell the same text with its
    line breaks ``\\n``, and no cell nor line of a cell that starts like a formula unless defused."""
    style = CsvStyle(delimiter=delimiter)
    out = io.StringIO()
    writer = _csv_writer(out, style)
    written = [[_csv_cell(value, style) for value in entry] for entry in entries]
    for cells in written:
        writer.writerow(cells)
    text = out.getvalue()
    assert "\r" not in text
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert rows == written
    assert len(rows) == len(entries)
    assert _live_lines(rows) == []
    for cells, entry in zip(rows, entries, strict=True):
        for cell, value in zip(cells, entry, strict=True):
            if isinstance(value, str):
                # Only the line breaks (now "\n") and the apostrophes before a formula changed.
                given_lines = (value + "\x00").splitlines()
                given_lines[-1] = given_lines[-1][:-1]
                for line, given_line in zip(cell.split("\n"), given_lines, strict=True):
                    assert line == given_line or (line == "'" + given_line and given_line.startswith(FORMULA))
