"""D8 under break-the-glass (D20): the reporter's recorded details masked in free text.

The policy withholds the reporter's identity from an emergency reader (``p:d8-reporter-identity-withheld``),
but staff write the reporter's name into journal notes and document titles, which that reader does get.
So, for a break-the-glass admission only, every recorded value of the case's ``reporter_identities``
row (name, contact, organisation) is replaced by ``[melder]`` in those texts, before they leave the
admission. The row is decrypted server-side inside the same admission (the notes' or titles' own
audited, flagged read) and never returned: the identity is not disclosed, so no reporter-identity read
is recorded.

Matching is on whole words, case- and accent-insensitive (the name normaliser of the blind index,
``vault.crypto.index``): each whole value (also across other separators: "06-1234 5678" ==
"0612345678"), each of several contacts, and each part of the name of three letters or more
("Pietersen" alone; not a particle such as "van"). A nickname, a misspelling or an inflected form
("Pietersens") is not caught (docs/security.md, residuals).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from vault.crypto.index import normalise_name
from vault.errors import InvalidInput
from vault.models import ReporterIdentity
from vault.services.file_names import neutral_filename, version_created_at
from vault.services.gate import Admission, AdmittedRead, decrypt_case_field

__all__ = [
    "MASK",
    "Masker",
    "mask_terms",
    "neutral_under_break_glass",
    "normal",
    "opened_identity",
    "reporter_masker",
    "terms_of",
    "word_norms",
]

MASK = "[melder]"
_TABLE = "reporter_identities"
_MIN_PART_LETTERS = 3
_NATIONAL_DIGITS = 9  # a Dutch number without its trunk prefix 0: "6 12345678"
_APOSTROPHES = frozenset("'`\u00b4\u02b9\u02bb\u02bc\u02bd\u2018\u2019\u201b\u2032\uff07")

# A contact field may hold more than one way to reach the reporter ("06-1234 5678, f@example.nl").
_CONTACT_SEPARATORS = re.compile(r"[,;/|\n]+")

# Name particles (tussenvoegsels) of three letters or more are no name part of their own: "van" or
# "der" alone would mask ordinary words. They are masked within the whole name ("van der Berg").
_PARTICLES = frozenset(
    {"van", "der", "den", "ter", "ten", "het", "des", "von", "vom", "uit", "aan", "bij", "voor", "onder"}
    | {"over", "dos", "das", "del", "della", "les", "vant", "int"}
)

Masker = Callable[[str], str]


def normal(text: str) -> str:
    """The normalised letters and digits of ``text`` without separators ("" when there are none)."""
    try:
        return normalise_name(text).replace(" ", "")
    except InvalidInput:
        return ""


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM" or ch in _APOSTROPHES


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    norm: str


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    start: int | None = None
    for i, ch in enumerate(text + " "):
        if i < len(text) and _is_word_char(ch):
            if start is None:
                start = i
        elif start is not None:
            norm = normal(text[start:i])
            if norm:
                tokens.append(_Token(start, i, norm))
            start = None
    return tokens


def word_norms(text: str) -> frozenset[str]:
    """The normalised whole words of ``text``."""
    return frozenset(t.norm for t in _tokens(text))


def terms_of(name: str | None, contact: str | None, organisation: str | None) -> frozenset[str]:
    """What ``mask_terms`` looks for: each whole value, each contact, each name part of three letters or
    more that is no particle."""
    terms: set[str] = set()
    for value in (name, contact, organisation, *_CONTACT_SEPARATORS.split(contact or "")):
        if value:
            terms.add(normal(value))
    for value in (contact, *_CONTACT_SEPARATORS.split(contact or "")):
        terms.update(_phone_forms(normal(value or "")))
    for part in _tokens(name or ""):
        letters = sum(1 for ch in part.norm if ch.isalpha())
        if letters >= _MIN_PART_LETTERS and part.norm not in _PARTICLES:
            terms.add(part.norm)
    terms.discard("")
    return frozenset(terms)


def _phone_forms(digits: str) -> frozenset[str]:
    """A Dutch phone number in each way staff copy it (review s18 G3): "06 1234 5678" as "+31 6 …",
    "0031 6 …" or "+31 (0)6 …", and the other way round; nothing for what is no such number."""
    if not digits.isdigit():
        return frozenset()
    if digits.startswith("0031"):
        rest = digits[4:]
    elif digits.startswith("31") and len(digits) >= 11:
        rest = digits[2:]
    elif digits.startswith("0") and not digits.startswith("00"):
        rest = digits[1:]
    else:
        return frozenset()
    rest = rest[1:] if rest.startswith("0") else rest
    if len(rest) != _NATIONAL_DIGITS:
        return frozenset()
    return frozenset(prefix + rest for prefix in ("0", "31", "310", "0031", "00310"))


def mask_terms(text: str, terms: frozenset[str]) -> str:
    """``text`` with every whole-word run of tokens that spells one of ``terms`` replaced by ``MASK``
    (the longest run first)."""
    if not terms or not text:
        return text
    longest = max(len(t) for t in terms)
    tokens = _tokens(text)
    out: list[str] = []
    at = 0  # next character of ``text`` not yet copied
    i = 0
    while i < len(tokens):
        joined = ""
        match = -1
        for j in range(i, len(tokens)):
            joined += tokens[j].norm
            if len(joined) > longest:
                break
            if joined in terms:
                match = j
        if match < 0:
            i += 1
            continue
        gap = text[at : tokens[i].start]
        if not (out and out[-1] == MASK and not gap.strip()):  # "[melder] [melder]" -> "[melder]"
            out.append(gap)
            out.append(MASK)
        at = tokens[match].end
        i = match + 1
    out.append(text[at:])
    return "".join(out)


def reporter_masker(session: Session, admission: Admission, case_id: str) -> Masker | None:
    """For a break-the-glass admission: a function masking the case's reporter details in a text.
    None for any other admission (staff of the case read the text unchanged) or a case without a
    reporter. Call inside the admission's ``then``."""
    if not admission.decision.break_glass:
        return None
    row = session.get(ReporterIdentity, case_id)
    if row is None:
        return None
    terms = terms_of(*opened_identity(admission, row))
    return lambda text: mask_terms(text, terms)


def opened_identity(admission: Admission, row: ReporterIdentity) -> tuple[str | None, str | None, str | None]:
    """The reporter's recorded name, contact and organisation, decrypted inside ``admission`` (its
    ``then``); never to leave the process."""

    def opened(column: str, value: bytes | None) -> str | None:
        if value is None:
            return None
        return decrypt_case_field(admission, table=_TABLE, column=column, row_id=row.case_id, value=value)

    return (
        opened("name", row.name_enc),
        opened("contact", row.contact_enc),
        opened("organisation", row.organisation_enc),
    )


def neutral_under_break_glass(session: Session, read: AdmittedRead) -> AdmittedRead:
    """D8 under break-the-glass (review s18 G1): a document read asked for with a justification gets
    the partner's neutral name (``VT-XXXX-XXXX_<categorie>_<datum>``), never the uploader's file name,
    which staff write the reporter's name into ("gesprek met Kanarie.txt"). The extension is the one
    ``staff_download`` already chose from the allow-list and the bytes. A member of the case's team who
    sends a justification anyway gets the neutral name too (the safe side). Call in the admission's
    transaction."""
    ext = read.filename.rsplit(".", 1)[1] if "." in read.filename else None
    created = version_created_at(session, read.version_id)
    return replace(read, filename=neutral_filename(read.case_id, str(read.category), created, ext))
