"""The questions of the four public forms and how their answers become a ``Submission``.

Problems are reported in Dutch and never echo what was typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from vault.errors import InvalidInput
from vault.services.calendar import DATE_OUT_OF_RANGE
from vault.services.intake import IntakeForm, Submission
from vault.services.person_fields import unfit_characters
from vault.services.subjects import PersonFields, Relation, ReporterFields
from vault.web.fg_reports import parse_day

__all__ = [
    "HONEYPOT",
    "MELDCODE_STEPS",
    "POW_COUNTER",
    "POW_TOKEN",
    "REPORTER_RELATIONS",
    "SUBJECT_NAME_UNUSABLE",
    "SUBJECT_ROLES",
    "FormProblem",
    "field_too_long",
    "parse_submission",
]

HONEYPOT = "website"
POW_TOKEN = "uitdaging"  # noqa: S105 — a form field name
POW_COUNTER = "teller"

MELDCODE_STEPS: tuple[tuple[str, str], ...] = (
    ("1", "Stap 1: signalen in kaart brengen"),
    ("2", "Stap 2: overleggen met een collega (en eventueel Veilig Thuis)"),
    ("3", "Stap 3: in gesprek met de betrokkenen"),
    ("4", "Stap 4: aard en ernst van het geweld wegen"),
    ("5", "Stap 5: beslissen over melden en hulp"),
)
# Who the person of concern is (a subject's relation to the case).
SUBJECT_ROLES: tuple[tuple[str, str, Relation], ...] = (
    ("kind", "Een kind", Relation.CHILD),
    ("partner", "Een (ex-)partner", Relation.PARTNER),
    ("ouder", "Een ouder of verzorger", Relation.PARENT),
    ("gezinslid", "Een ander gezinslid of huisgenoot", Relation.HOUSEHOLD_MEMBER),
    ("pleger", "Iemand die geweld gebruikt", Relation.ALLEGED_PERPETRATOR),
    ("anders", "Iemand anders", Relation.OTHER),
)
# A citizen's relation to the people involved.
REPORTER_RELATIONS: tuple[tuple[str, str], ...] = (
    ("zelf", "Het gaat over mijzelf of mijn eigen gezin"),
    ("familie", "Familielid"),
    ("buren", "Buur of buurtgenoot"),
    ("kennis", "Vriend, vriendin of kennis"),
    ("anders", "Anders"),
)
CHILDREN = (("ja", "Ja"), ("nee", "Nee"), ("onbekend", "Weet ik niet"))

_SHORT = 200
_LONG = 10_000

SUBJECT_NAME_UNUSABLE = (
    "Naam van de betrokkene: vul een naam in, of laat het veld leeg als u de naam niet weet."
)


# The free-text fields of the forms: their labels and character limits (``maxlength`` on the page).
_TEXT_FIELDS: dict[str, tuple[str, int]] = {
    "zorgen": ("Waar maakt u zich zorgen over", _LONG),
    "naam": ("Uw naam", _SHORT),
    "beroep": ("Uw beroep", _SHORT),
    "organisatie": ("Uw organisatie", _SHORT),
    "contact": ("Uw telefoonnummer of e-mailadres", _SHORT),
    "betrokkene_naam": ("Naam van de betrokkene", _SHORT),
    "betrokkene_adres": ("Adres van de betrokkene", _SHORT),
    "client_naam": ("Naam van uw cliënt", _SHORT),
    "client_bsn": ("BSN van uw cliënt", 20),
}


class FormProblem(Exception):
    """The answers cannot be accepted; ``problems`` are Dutch sentences naming fields, never values,
    and ``fields`` the id of the field each one is about (``None``: the form as a whole), so the page
    can mark the field and link the sentence to it."""

    def __init__(self, problems: list[str], fields: list[str | None] | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.fields: list[str | None] = fields if fields is not None else [None for _ in problems]


def field_too_long(name: str) -> FormProblem:
    """The problem for a field the multipart reader stopped reading (over its byte bound, so over the
    field's character limit too): named as the form's own check names it."""
    label, limit = _TEXT_FIELDS.get(name, ("Een van de velden", _LONG))
    return FormProblem(
        [f"{label} is te lang (maximaal {limit} tekens)."], [name if name in _TEXT_FIELDS else None]
    )


@dataclass
class _Reader:
    fields: Mapping[str, str]
    problems: list[str]
    today: date
    named: list[str | None] = field(default_factory=list)

    def problem(self, name: str | None, text: str) -> None:
        self.problems.append(text)
        self.named.append(name)

    def text(self, name: str, label: str, *, required: bool = False, limit: int = _SHORT) -> str:
        # A browser sends a line break as CRLF; it counts as one character, as ``maxlength`` counts it.
        raw = self.fields.get(name, "").replace("\r\n", "\n")
        value = raw.strip() if limit == _LONG else " ".join(raw.split())
        if required and not value:
            self.problem(name, f"Vul in: {label}.")
        elif len(value) > limit:
            self.problem(name, f"{label} is te lang (maximaal {limit} tekens).")
            return ""
        elif limit != _LONG and value and unfit_characters(value):
            # D8/D19: controls, bidi overrides or nothing visible: refused as on the staff forms.
            self.problem(name, f"{label} bevat tekens die niet zijn toegestaan.")
            return ""
        return value

    def choice(self, name: str, label: str, options: tuple[str, ...], *, required: bool = False) -> str:
        value = self.fields.get(name, "").strip()
        if not value:
            if required:
                self.problem(name, f"Kies: {label}.")
            return ""
        if value not in options:
            self.problem(name, f"Kies een geldige waarde bij: {label}.")
            return ""
        return value

    def day(self, name: str, label: str) -> date | None:
        """A birth date as the staff forms take it (``dd-mm-jjjj`` or ISO), not after ``today``."""
        try:
            parsed = parse_day(self.fields.get(name, ""))
        except InvalidInput as refused:
            if refused.rule == DATE_OUT_OF_RANGE:  # a year before 1900 (or after 2999)
                self.problem(name, f"{label} ligt niet tussen 1900 en vandaag; controleer het jaar.")
            else:
                self.problem(name, f"{label} is geen geldige datum; vul in als dd-mm-jjjj.")
            return None
        if parsed is not None and parsed > self.today:
            # D5: today is the Dutch date of the vault clock, the day the report is received.
            self.problem(name, f"{label} ligt in de toekomst.")
            return None
        return parsed


def _label(options: tuple[tuple[str, str], ...], value: str) -> str:
    return dict(options).get(value, "")


def _role_label(value: str) -> str:
    return next((text for v, text, _ in SUBJECT_ROLES if v == value), "")


def _usable_name(value: str) -> bool:
    """A name the person index can match on: the service's own check (letters or digits remain after
    normalisation), so "?", "-", "..." or an emoji are refused here with a Dutch problem, not there."""
    try:
        PersonFields(name=value).checked()
    except InvalidInput:
        return False
    return True


def parse_submission(form: IntakeForm, fields: Mapping[str, str], today: date) -> Submission:
    """The checked submission, or ``FormProblem`` listing what to fix. ``today``: the Dutch date of
    the vault clock (``calendar.local_date``), the received date a birth date may not lie after."""
    r = _Reader(fields, [], today)
    concern = r.text("zorgen", "Waar maakt u zich zorgen over", required=True, limit=_LONG)
    children = r.choice("kinderen", "Zijn er kinderen bij betrokken", tuple(v for v, _ in CHILDREN))
    answers: list[tuple[str, str]] = []
    reporter: ReporterFields | None = None
    subjects: tuple[tuple[Relation, PersonFields], ...] = ()
    client: PersonFields | None = None
    step: int | None = None

    if form.by_professional:
        name = r.text("naam", "Uw naam", required=True)
        profession = r.text("beroep", "Uw beroep", required=True)
        organisation = r.text("organisatie", "Uw organisatie", required=True)
        contact = r.text("contact", "Uw telefoonnummer of e-mailadres", required=True)
        step_value = r.choice(
            "meldcode_stap",
            "Bij welke stap van de meldcode bent u",
            tuple(v for v, _ in MELDCODE_STEPS),
            required=True,
        )
        step = int(step_value) if step_value else None
        # D8: the professional's identity (name, contact, organisation and profession) is sealed apart;
        # organisation and profession share one column, which holds both at their full length
        # (``subjects.REPORTER_ORGANISATION_LIMIT``; tests/intake/test_intake_professional_fields.py).
        reporter = ReporterFields(
            name=name, professional=True, contact=contact, organisation=f"{organisation} ({profession})"
        )
    elif form is IntakeForm.REPORT_CITIZEN:
        name = r.text("naam", "Uw naam", required=True)
        contact = r.text("contact", "Uw telefoonnummer of e-mailadres", required=True)
        relation = r.choice(
            "relatie",
            "Wat is uw relatie tot de betrokkenen",
            tuple(v for v, _ in REPORTER_RELATIONS),
            required=True,
        )
        # D8: how the reporter knows the family can identify them: sealed with their identity.
        reporter = ReporterFields(
            name=name,
            professional=False,
            contact=contact,
            organisation=f"Relatie: {_label(REPORTER_RELATIONS, relation)}" if relation else None,
        )
    else:
        relation = r.choice("relatie", "Voor wie vraagt u advies", tuple(v for v, _ in REPORTER_RELATIONS))
        if relation:
            answers.append(("Voor wie vraagt u advies?", _label(REPORTER_RELATIONS, relation)))

    if form.is_report:
        role = r.choice(
            "betrokkene_rol",
            "Over wie maakt u zich zorgen",
            tuple(v for v, _, _ in SUBJECT_ROLES),
            required=True,
        )
        # Optional: a neighbour often does not know the child's name. A placeholder ("?", "onbekend")
        # would become a subject whose blind index matches every other placeholder (D19).
        name = r.text("betrokkene_naam", "Naam van de betrokkene")
        if name and not _usable_name(name):
            r.problem("betrokkene_naam", SUBJECT_NAME_UNUSABLE)
            name = ""
        person = PersonFields(
            name=name or None,
            date_of_birth=r.day("betrokkene_geboortedatum", "Geboortedatum van de betrokkene"),
            address=r.text("betrokkene_adres", "Adres van de betrokkene") or None,
        )
        if role:
            # Kept in the answers too, so "who" is not lost when nothing identifying was given.
            answers.append(("Over wie maakt u zich zorgen?", _role_label(role)))
        relation_of = {value: rel for value, _, rel in SUBJECT_ROLES}
        if role and person.identifying:
            subjects = ((relation_of[role], person),)
    elif form is IntakeForm.ADVICE_PROFESSIONAL:
        client = PersonFields(
            name=r.text("client_naam", "Naam van uw cliënt") or None,
            bsn=r.text("client_bsn", "BSN van uw cliënt", limit=20) or None,
            date_of_birth=r.day("client_geboortedatum", "Geboortedatum van uw cliënt"),
        )
        if client.bsn is None and (client.name is None) != (client.date_of_birth is None):
            r.problem(
                "client_geboortedatum" if client.name is not None else "client_naam",
                "Vul bij uw cliënt het BSN in, of naam én geboortedatum, of niets.",
            )
        try:
            client = client.checked()
        except InvalidInput:
            r.problem(
                "client_bsn" if client.bsn else "client_naam",
                "Het BSN of de naam van uw cliënt is niet geldig.",
            )

    if r.problems:
        raise FormProblem(r.problems, r.named)
    answers.append(("Waar maakt u zich zorgen over?", concern))
    if children:
        answers.append(("Zijn er kinderen bij betrokken?", _label(CHILDREN, children)))
    return Submission(
        form=form,
        answers=tuple(answers),
        reporter=reporter,
        subjects=subjects,
        client=client if client is not None and client.identifying else None,
        meldcode_step=step,
    )
