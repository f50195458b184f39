"""D13 (robustness, no 500): the inzage PDF is always made, whatever text a released note carries.

fpdf2's bidi step recurses once per character of a run without a strong direction (punctuation,
spaces, digits, and the "?" of a character the font lacks: Chinese, emoji); ~990 in a row exhausted the
stack (RecursionError: HTTP 500, the subject could not get a copy). ``pdf.pieces`` cuts such runs;
characters the font lacks are replaced the same way every time (``pdf.printable``)."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.helpers import pdf_text
from vault.context import Context, FrozenClock
from vault.runtime import Vault
from vault.services import rights
from vault.services.cases import open_report
from vault.services.inzage import ReviewDecision, export_for_subject, render_inzage_pdf
from vault.services.inzage_review import review_free_text
from vault.services.journal import add_note
from vault.services.pdf import MAX_NEUTRAL_RUN, pieces, printable, render_pdf
from vault.services.subjects import PersonFields, Relation, ReporterFields, add_subject

QUOTE = "Bericht van moeder aan de school, letterlijk overgenomen: " + "我很害怕。他又打我了 " * 100
SEPARATOR = "Samenvatting gesprek\n" + "-" * 1200 + "\nMoeder wil hulp."

# Hostile characters: punctuation and spaces, digits, CJK, emoji, RTL letters and marks, combining marks,
# zero-width and bidi controls, lone surrogates, control characters.
_HOSTILE = st.sampled_from(
    list("-.?!,;:()[] \n\t0123456789")
    + list("我很害怕中文")
    + ["\U0001f600", "\U0001f92f"]
    + list("שלוםمرحبا")
    + ["\u0301", "\u200b", "\u200f", "\u202e", "\u2066", "\ud800", "\x00", "\x1b"]
)


@pytest.mark.parametrize("text", [QUOTE, SEPARATOR], ids=["chinese-quote", "dash-separator"])
def test_d13_the_inzage_pdf_renders_a_released_note_with_a_long_neutral_run(
    vault: Vault, team: str, worker: Context, clock: FrozenClock, text: str
) -> None:
    with vault.db.session() as session:
        case_id = open_report(
            session, vault, worker, team_id=team, reporter=ReporterFields(name="Buur", professional=False)
        ).id
    mother = add_subject(vault, worker, case_id, relation=Relation.PARENT, fields=PersonFields(name="Moeder"))
    note = add_note(vault, worker, case_id, text=text)
    worker = replace(worker, factor_checked_at=clock.now())
    request = rights.record_access_request(
        vault, worker, case_id, subject_id=mother, received_on=worker.now().date()
    )
    review_free_text(vault, worker, request.id, {f"note:{note}": ReviewDecision.RELEASED})
    export = export_for_subject(vault, worker, case_id, mother, access_request_id=request.id)
    try:
        pdf = render_inzage_pdf(export)
    except RecursionError as exc:  # surfaced as HTTP 500 on the page and the API
        pytest.fail(f"the inzage PDF cannot be made: RecursionError ({exc})")
    assert pdf.startswith(b"%PDF")
    assert text.split()[0] in pdf_text(pdf)  # the note is in the copy


# Runs of one hostile character (up to 1,500 in a row) joined: long neutral runs, mixed scripts.
_RUNS = st.lists(st.tuples(_HOSTILE, st.integers(1, 1500)), max_size=6).map(
    lambda r: "".join(c * n for c, n in r)
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_RUNS)
@example("-" * 1200)
@example("我很害怕 " * 400)
def test_d13_rendering_hostile_text_always_returns_a_pdf(text: str) -> None:
    pdf = render_pdf("Inzage", [("Aantekeningen", [("01-03-2026", text)])], footer="Zaak VT-0000-0000")
    assert pdf.startswith(b"%PDF")


@given(st.text(max_size=3000))
@settings(max_examples=60, deadline=None)
def test_d13_pieces_keep_every_character_and_cut_every_long_neutral_run(text: str) -> None:
    cut = pieces(printable(text))
    assert "".join(cut) == printable(text)
    for piece in cut:
        run = longest = 0
        for char in piece:
            run = 0 if unicodedata.bidirectional(char) in {"L", "R", "AL"} else run + 1
            longest = max(longest, run)
        assert longest <= MAX_NEUTRAL_RUN
