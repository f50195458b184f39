"""Readable PDF renderings (destruction certificates, inzage exports) with fpdf2.

Text is set in DejaVu Sans, embedded (subset per document) from ``vault/fonts`` with its licence, and
shaped by HarfBuzz: names in Latin with any diacritics, Greek, Cyrillic, Armenian, Georgian, Hebrew and
Arabic print as written, right-to-left scripts in their order and Arabic letters joined. A character the
font lacks (Chinese, for one) is written as its base letter where it has one, else "?": marked, never
silently dropped. A long run of characters without a strong direction (a line of dashes, a quote in a
script the font lacks) is set in pieces (``pieces``): fpdf2's bidi step recurses once per such character.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from fontTools.ttLib import TTFont
from fpdf import FPDF

from vault import labels
from vault.domain import reference_of

if TYPE_CHECKING:
    from vault.services.destruction import CertificateView

__all__ = ["MAX_NEUTRAL_RUN", "certificate_pdf", "pieces", "printable", "render_pdf"]

_FONTS = Path(__file__).resolve().parents[1] / "fonts"
_FACES = {"": _FONTS / "DejaVuSans.ttf", "B": _FONTS / "DejaVuSans-Bold.ttf"}
_FAMILY = "DejaVuSans"


@functools.cache
def _drawable() -> frozenset[str]:
    """The characters every embedded face draws (the fonts are static files: read once per process)."""
    faces = [set(TTFont(path, lazy=True).getBestCmap()) for path in _FACES.values()]
    return frozenset(chr(c) for c in set.intersection(*faces) if unicodedata.category(chr(c)) != "Cc")


def printable(text: str) -> str:
    """``text`` as the PDF can draw it: unchanged where the font has it, else the base letters of each
    missing character, "?" as the last resort; line breaks stay, other control characters become "?"."""
    drawable = _drawable()
    out: list[str] = []
    for char in text:
        if char in drawable or char == "\n":
            out.append(char)
            continue
        bare = "".join(
            c for c in unicodedata.normalize("NFKD", char) if c in drawable and not unicodedata.combining(c)
        )
        out.append(bare or "?")
    return "".join(out)


_STRONG = frozenset({"L", "R", "AL"})
# fpdf2's bidi resolver recurses once per character of a run of bidi-neutral characters (punctuation,
# spaces, digits, the "?" of a character the font lacks): ~990 in a row exhaust Python's stack. A value
# is written in pieces, each with at most this many such characters in a row.
MAX_NEUTRAL_RUN = 200


def pieces(text: str) -> list[str]:
    """``text`` cut where a run of characters without a strong direction reaches ``MAX_NEUTRAL_RUN``
    (each piece is set on a line of its own; nothing is dropped)."""
    out: list[str] = []
    start = run = 0
    for i, char in enumerate(text):
        run = 0 if unicodedata.bidirectional(char) in _STRONG else run + 1
        if run >= MAX_NEUTRAL_RUN:
            out.append(text[start : i + 1])
            start, run = i + 1, 0
    if start < len(text) or not out:
        out.append(text[start:])
    return out


def render_pdf(
    title: str, sections: Iterable[tuple[str, Iterable[tuple[str, str]]]], *, footer: str
) -> bytes:
    """A simple document: a title, then sections of label/value rows."""
    pdf = FPDF(format="A4")
    for style, path in _FACES.items():
        pdf.add_font(_FAMILY, style, path)
    pdf.set_text_shaping(True)
    pdf.set_creator("Veilig Thuis dossier vault")
    pdf.set_title(printable(title))
    pdf.add_page()

    def write(style: str, size: int, height: int, text: str) -> None:
        pdf.set_font(_FAMILY, style, size)
        for piece in pieces(printable(text)):
            pdf.multi_cell(0, height, piece, new_x="LMARGIN", new_y="NEXT")

    write("B", 16, 9, title)
    pdf.ln(2)
    for heading, rows in sections:
        write("B", 12, 7, heading)
        for label, value in rows:
            write("B", 10, 5, label)
            write("", 10, 5, value or "-")
        pdf.ln(3)
    write("", 8, 4, footer)
    return bytes(pdf.output())


def certificate_pdf(cert: CertificateView) -> bytes:
    """A destruction certificate as a readable PDF in Dutch: the case by its reference, Dutch time,
    the ground in words. The signed JSON body (with its ids) is the authoritative form."""
    body = json.loads(cert.body)
    backups, epoch = body.get("backups_unreadable_from"), body.get("key_epoch")
    if isinstance(backups, str) and len(backups) == 10 and backups[4] == "-":
        backups = labels.dutch_date(date.fromisoformat(backups))
    elif epoch is not None:
        backups = (
            f"zodra sleutelperiode {epoch} is vernietigd (na de volgende sleutelwissel en back-uptermijn)"
        )
    else:
        backups = "direct: er was geen sleutel meer"
    rows = [
        ("Zaak", reference_of(body["case_id"])),
        ("Vernietigd op", f"{labels.dutch_datetime(body.get('destroyed_at'))} (Nederlandse tijd)"),
        ("Grond", labels.CERTIFICATE_REASONS.get(str(body.get("reason")), "Vernietiging")),
        ("Gewiste sleutels", str(body.get("keys_erased") or 0)),
        (
            "Methode",
            "crypto-shredding: de sleutel van het dossier is gewist; niemand kan de inhoud nog lezen",
        ),
        ("Back-ups onleesbaar vanaf", backups),
    ]
    return render_pdf(
        "Vernietigingsverklaring dossier",
        [("Gegevens", rows), ("Handtekening (Ed25519, base64)", [("", cert.signature)])],
        footer="De ondertekende JSON-versie van deze verklaring is leidend. Geen persoonsgegevens.",
    )
