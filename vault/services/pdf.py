"""Readable PDF renderings (destruction certificates, inzage exports) with fpdf2.

Only the core PDF fonts are used (no font files to ship), so text is limited to Latin-1; anything
outside it is replaced rather than dropped silently.
"""

from __future__ import annotations

from collections.abc import Iterable

from fpdf import FPDF

__all__ = ["render_pdf"]


def _latin1(text: str) -> str:
    return text.encode("latin-1", errors="replace").decode("latin-1")


def render_pdf(
    title: str, sections: Iterable[tuple[str, Iterable[tuple[str, str]]]], *, footer: str
) -> bytes:
    """A simple document: a title, then sections of label/value rows."""
    pdf = FPDF(format="A4")
    pdf.set_creator("Veilig Thuis dossier vault")
    pdf.set_title(_latin1(title))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for heading, rows in sections:
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 7, _latin1(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for label, value in rows:
            pdf.set_font("Helvetica", "B", 10)
            pdf.multi_cell(0, 5, _latin1(label), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, _latin1(value) or "-", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, _latin1(footer), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
