"""D8, D22: whether a free text names the case's recorded reporter.

Staff free text (a journal note, a document title) enters an inzage copy only when released
(``vault.services.inzage_review``); a release of text that names the reporter would put the reporter's
identity into the family's copy. The matching is ``vault.services.reporter_mask``'s (whole words, case-
and accent-insensitive, the whole name and each name part of three letters or more, each contact);
only the decision is returned, never the matched text. A name part the reporter shares with a person
of the case (a grandmother who reported, with the family's surname) is not matched on its own: it
names the family, not the reporter; the whole name still is.

The partner reads the title and purpose staff typed for it (``gate.partner_texts``); those are
screened with the same matcher where they are opened (``mentions_with``, given the gate's field
opener), so a text sealed before sharing checked it is withheld rather than shown.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.models import ReporterIdentity, Subject
from vault.services.gate import Admission, decrypt_case_field
from vault.services.gate_vocabulary import FieldOpener
from vault.services.reporter_mask import MASK, mask_terms, normal, terms_of, word_norms

__all__ = ["ReporterMentions", "mentions_with", "reporter_mentions"]


class ReporterMentions:
    """The recorded reporter's name parts and contacts, normalised; ``named_in`` answers per text."""

    def __init__(self, terms: frozenset[str], *, may_be_named: bool) -> None:
        self._terms = terms
        self.may_be_named = may_be_named  # D8: consent, or a professional's recorded release

    def named_in(self, text: str) -> bool:
        """Whether ``text`` names the reporter (and the reporter may not be named)."""
        if self.may_be_named or not self._terms:
            return False
        return mask_terms(text.replace(MASK, ""), self._terms) != text.replace(MASK, "")


def reporter_mentions(session: Session, admission: Admission, case_id: str) -> ReporterMentions:
    """For an admission to ``case_id`` (call inside its ``then``): the matcher of the case's reporter.
    A case without a recorded reporter matches nothing."""
    return mentions_with(session, case_id, partial(decrypt_case_field, admission))


def mentions_with(session: Session, case_id: str, open_field: FieldOpener) -> ReporterMentions:
    """The matcher of ``case_id``'s reporter, its sealed fields opened by ``open_field`` (the gate's:
    an admission's key, or the one ``gate.partner_texts`` unwrapped for the partner's own grant)."""
    row = session.get(ReporterIdentity, case_id)
    if row is None:
        return ReporterMentions(frozenset(), may_be_named=False)

    def opened(column: str, value: bytes | None) -> str | None:
        if value is None:
            return None
        return open_field(table="reporter_identities", column=column, row_id=case_id, value=value)

    name, contact = opened("name", row.name_enc), opened("contact", row.contact_enc)
    terms = terms_of(name, contact, None)
    shared: set[str] = set()
    for subject_id, sealed in session.execute(
        select(Subject.id, Subject.name_enc).where(Subject.case_id == case_id, Subject.name_enc.is_not(None))
    ):
        if sealed is not None:
            text = open_field(table="subjects", column="name", row_id=subject_id, value=sealed)
            shared.update(word_norms(text))
    terms = frozenset(terms - shared) | ({normal(name)} - {""} if name else frozenset())
    may = bool(row.consent_to_disclose) or (bool(row.professional) and row.released_at is not None)
    return ReporterMentions(terms, may_be_named=may)
