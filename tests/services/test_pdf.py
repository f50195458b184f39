"""The PDFs a person receives (inzage copy, destruction certificate, the data subject's overview) show
names as written: the embedded font draws Latin with any diacritics, Greek, Cyrillic, Hebrew and Arabic;
what it lacks is written as its base letter or marked "?", never silently dropped."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import pdf_text
from vault.services.pdf import _drawable, printable, render_pdf

DRAWN = sorted(_drawable())


@given(st.text())
def test_d13_printable_text_only_holds_what_the_font_draws_and_drops_nothing(text: str) -> None:
    shown = printable(text)
    assert set(shown) <= _drawable() | {"\n"}
    assert printable(shown) == shown
    assert len(shown) >= len(text)  # one or more characters for each: nothing dropped


@given(st.text(alphabet=st.sampled_from(DRAWN)))
def test_d13_text_the_font_draws_is_unchanged(text: str) -> None:
    assert printable(text) == text


@pytest.mark.parametrize(
    "name",
    [
        "Şükrü Yılmaz",  # Turkish
        "Łukasz Wałęsa",  # Polish
        "Zoë Ñandú",
        "Nguyễn Thị Hương",  # Vietnamese
        "Олена Шевченко",  # Ukrainian
        "Γιώργος Παπαδόπουλος",  # Greek
        "محمد الأحمد",  # Arabic (right to left, joined)
        "יוסף כהן",  # Hebrew (right to left)
        "Inzage — kopie “concept”",
    ],
)
def test_d13_a_name_in_the_pdf_reads_as_written(name: str) -> None:
    assert printable(name) == name
    text = pdf_text(render_pdf("Inzage", [("Uw gegevens", [("Naam", name)])], footer="x"))
    assert name in text.splitlines()


def test_d13_what_the_font_lacks_is_marked_not_dropped() -> None:
    assert printable("王小明 Sam") == "??? Sam"
    assert printable("a\x00b\nc") == "a?b\nc"
    assert "??? Sam" in pdf_text(render_pdf("Inzage", [("Naam", [("Naam", "王小明 Sam")])], footer="x"))


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=300))
def test_d13_any_text_renders_into_a_pdf_a_reader_opens(text: str) -> None:
    pdf = render_pdf(text, [(text, [(text, text)])], footer=text)
    assert pdf.startswith(b"%PDF-")
    assert isinstance(pdf_text(pdf), str)
