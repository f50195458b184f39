"""The value types of the people in a case: how a subject relates to it, the scopes of a consent, a
person's identifying fields and a reporter's (D2, D8), and the cleaning of one typed field.

No database, no keys: the services of ``vault.services.subjects`` and ``vault.services.consents`` seal
and store these; this module only says what a valid value is (errors never echo the value).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from vault.crypto.index import normalise_bsn, normalise_date, normalise_name
from vault.domain import disguising_characters
from vault.errors import InvalidInput
from vault.policy import non_blank_chars

__all__ = [
    "BORN_LATER",
    "CONSENT_GIVERS",
    "CONSENT_WITHDRAWN",
    "HELP_SEEKER_CONSENT",
    "MAX_FIELD",
    "SHARE_CONSENT_GIVER",
    "ConsentScope",
    "PersonFields",
    "Relation",
    "ReporterFields",
    "clean_field",
    "unfit_characters",
]

MAX_FIELD = 255
BORN_LATER = "d19-born-later"  # the rule that refuses a date of birth after today


class Relation(StrEnum):
    """How a subject relates to the case."""

    HELP_SEEKER = "help_seeker"
    CHILD = "child"
    PARENT = "parent"
    PARTNER = "partner"
    HOUSEHOLD_MEMBER = "household_member"
    ALLEGED_PERPETRATOR = "alleged_perpetrator"
    OTHER = "other"


class ConsentScope(StrEnum):
    REGISTER_PERSONAL_DATA = "register_personal_data"  # D2: seed 000
    SHARE_WITH_PARTNER = "share_with_partner"  # D9: names the one recipient organisation it covers


CONSENT_WITHDRAWN = "consent-withdrawn"  # D9: the reason code of a grant revoked by a withdrawal

# D2: the help seeker keeps control: only they consent to registering their personal data (seed 000).
# D9: a consent to share with a partner is given by someone the dossier is about: never by the person
# the violence is attributed to (their word cannot open the others' part of the dossier to a partner)
# nor by someone outside the household ("other"). The model has no legal representative among the
# relations; a parent may be the one the help seeker seeks help against.
CONSENT_GIVERS: dict[ConsentScope, frozenset[Relation]] = {
    ConsentScope.REGISTER_PERSONAL_DATA: frozenset({Relation.HELP_SEEKER}),
    ConsentScope.SHARE_WITH_PARTNER: frozenset(Relation) - {Relation.ALLEGED_PERPETRATOR, Relation.OTHER},
}
HELP_SEEKER_CONSENT = "d2-help-seeker-consent"  # the rule that refuses a consent given by someone else
SHARE_CONSENT_GIVER = "d9-consent-giver"  # the rule that refuses a consent to share from the wrong giver


def unfit_characters(value: str) -> bool:
    """D8/D19: whether a typed name, address or contact must be refused for its characters: a control
    character (C0, DEL, C1) or bidi control (``vault.domain.disguising_characters``, as for titles and
    file names), or nothing a reader can see (only zero-width or format characters such as U+200B)."""
    return disguising_characters(value) or non_blank_chars(value) == 0


def clean_field(value: str | None, what: str, limit: int = MAX_FIELD) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if not value:
        return None
    if len(value) > limit:
        raise InvalidInput(f"{what} must be at most {limit} printable characters")
    # A bidi override makes staff read another name than the one indexed ("Piet \u202eseirV ed" shows
    # as "Piet de Vries"). The message never echoes the value.
    if unfit_characters(value):
        raise InvalidInput(f"{what} contains characters that are not allowed", rule="d19-field-characters")
    return value


@dataclass(frozen=True, repr=False)
class PersonFields:
    """A person's identifying fields; every one optional. Never printed (repr is ``***``)."""

    name: str | None = None
    bsn: str | None = None
    date_of_birth: date | None = None
    address: str | None = None

    def __repr__(self) -> str:
        return "PersonFields(***)"

    @property
    def identifying(self) -> bool:
        return any(v is not None for v in (self.name, self.bsn, self.date_of_birth, self.address))

    def checked(self, today: date | None = None) -> PersonFields:
        """Cleaned copy; the BSN must pass the eleven-test (the error never echoes it). ``today``: the
        Dutch date of the vault's clock; a date of birth after it is refused (rule ``d19-born-later``:
        the blind index would hold a person who cannot exist, whom no lookup finds)."""
        if today is not None and self.date_of_birth is not None and self.date_of_birth > today:
            raise InvalidInput("date of birth lies in the future", rule=BORN_LATER)
        name = clean_field(self.name, "name")
        bsn = normalise_bsn(self.bsn) if self.bsn is not None and self.bsn.strip() else None
        if name is not None:
            normalise_name(name)
        if self.date_of_birth is not None:
            normalise_date(self.date_of_birth)
        return PersonFields(name, bsn, self.date_of_birth, clean_field(self.address, "address"))


@dataclass(frozen=True, repr=False)
class ReporterFields:
    """D8: who reports. ``professional``: a professional acting under the meldcode."""

    name: str
    professional: bool
    contact: str | None = None
    organisation: str | None = None

    def __repr__(self) -> str:
        return f"ReporterFields(***, professional={self.professional})"
