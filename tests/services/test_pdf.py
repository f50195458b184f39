"""The PDFs a person receives (inzage copy, destruction certificate) keep names readable: the core fonts
hold Latin-1 only, so anything else is written as its closest Latin-1 letters, never silently dropped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.rights.test_inzage_free_text import pdf_text
from vault.services.pdf import latin1, render_pdf


@given(st.text())
def test_d13_the_result_is_always_latin1_and_stable(text: str) -> None:
    plain = latin1(text)
    plain.encode("latin-1")  # never raises
    assert latin1(plain) == plain
    assert len(plain) >= len(text)  # nothing dropped: one or more characters for each


@given(st.text(alphabet=st.characters(max_codepoint=255)))
def test_d13_latin1_text_is_unchanged(text: str) -> None:
    assert latin1(text) == text


def test_d13_names_from_outside_latin1_stay_readable() -> None:
    assert latin1("Şükrü Yılmaz") == "Sükrü Yilmaz"
    assert latin1("Łukasz Wałęsa") == "Lukasz Walesa"
    assert latin1("Zoë Ñandú") == "Zoë Ñandú"
    assert latin1("Inzage — kopie “concept”") == 'Inzage - kopie "concept"'
    assert latin1("王") == "?"  # no Latin form: marked, not dropped


def test_d13_the_pdf_shows_the_readable_form() -> None:
    text = pdf_text(render_pdf("Inzage — kopie", [("Uw gegevens", [("Naam", "Şükrü Yılmaz")])], footer="x"))
    assert "Inzage - kopie" in text
    assert "Sükrü Yilmaz" in text
