"""Readable PDF renderings (destruction certificates, inzage exports) with fpdf2.

Only the core PDF fonts are used (no font files to ship), so text is limited to Latin-1. Anything
outside it is written as its closest Latin-1 letters rather than dropped: typographic dashes and quotes
as their plain forms, a letter with a mark outside Latin-1 as the bare letter (Turkish, Polish and
other names stay readable: "Şükrü Yılmaz" → "Sükrü Yilmaz"); only what has no such form becomes "?".
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from fpdf import FPDF

from vault import labels
from vault.domain import reference_of

if TYPE_CHECKING:
    from vault.services.destruction import CertificateView

__all__ = ["certificate_pdf", "latin1", "render_pdf"]


_PLAIN = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2022": "\u00b7",
        "\u20ac": "EUR",
        "\u0131": "i",  # dotless i (Turkish)
        "\u0141": "L",
        "\u0142": "l",
        "\u0110": "D",
        "\u0111": "d",
        "\u0126": "H",
        "\u0127": "h",
    }
)


def latin1(text: str) -> str:
    """``text`` in Latin-1: unchanged where it fits, else its closest letters, "?" as the last resort."""
    out: list[str] = []
    for char in text.translate(_PLAIN):
        if ord(char) < 256:
            out.append(char)
            continue
        bare = "".join(
            c for c in unicodedata.normalize("NFKD", char) if ord(c) < 256 and not unicodedata.combining(c)
        )
        out.append(bare or "?")
    return "".join(out)


def render_pdf(
    title: str, sections: Iterable[tuple[str, Iterable[tuple[str, str]]]], *, footer: str
) -> bytes:
    """A simple document: a title, then sections of label/value rows."""
    pdf = FPDF(format="A4")
    pdf.set_creator("Veilig Thuis dossier vault")
    pdf.set_title(latin1(title))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for heading, rows in sections:
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 7, latin1(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for label, value in rows:
            pdf.set_font("Helvetica", "B", 10)
            pdf.multi_cell(0, 5, latin1(label), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, latin1(value) or "-", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(0, 4, latin1(footer), new_x="LMARGIN", new_y="NEXT")
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
