"""The privacy officer's pages, the parts that are no route: Dutch dates as typed (dd-mm-jjjj), the
actions as a list of Dutch labels, the break-the-glass work list and the data subject's PDF (D15)."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from vault import labels
from vault.audit.export import CsvStyle
from vault.domain import AuditTag, reference_of
from vault.errors import InvalidInput
from vault.labels import AMSTERDAM
from vault.services.calendar import DATE_OUT_OF_RANGE, EARLIEST_YEAR, LATEST_YEAR, date_problem
from vault.services.pdf import render_pdf

__all__ = [
    "BAD_DAY",
    "DAY_OUT_OF_RANGE",
    "DUTCH_CSV",
    "action_choices",
    "actor_label",
    "day_start",
    "oldest_first",
    "parse_day",
    "subject_overview_pdf",
]

# The privacy officer's web export: Dutch Excel opens ``;``-separated UTF-8 with a byte-order mark as
# columns; headers and codes in Dutch, times local (dd-mm-jjjj uu:mm:ss). The API and CLI keep the
# machine CSV (``,``, codes, UTC) and the JSON stays byte-faithful (docs/audit.md "Export").
DUTCH_CSV = CsvStyle(
    delimiter=";",
    bom=True,
    headers={
        "seq": "Nummer",
        "occurred_at": "Tijdstip",
        "tag": "Handeling",
        "actor_id": "Gebruiker (kenmerk)",
        "actor_role": "Rol",
        "actor_org_id": "Organisatie (kenmerk)",
        "on_behalf_of": "Namens",
        "access_point": "Toegangspunt",
        "request_id": "Verzoek (kenmerk)",
        "case_id": "Zaak (kenmerk)",
        "object_type": "Soort object",
        "object_id": "Object (kenmerk)",
        "legal_basis": "Grondslag",
        "purpose": "Doel",
        "decision": "Besluit",
        "rule": "Regel",
        "break_glass": "Noodtoegang",
        "details": "Details",
        "prev_hash": "Vorige hash",
        "entry_hash": "Hash",
        "break_glass_access": "Nummer noodtoegang",
        "break_glass_justification": "Onderbouwing noodtoegang",
    },
    labels={
        "tag": labels.AUDIT_TAGS,
        "actor_role": labels.ROLES,
        "object_type": labels.OBJECT_TYPES,
        "legal_basis": labels.LEGAL_BASES,
        "decision": labels.DECISIONS,
    },
    yes_no=("ja", "nee"),
    time=lambda t: t.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M:%S"),
)

_DUTCH_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
BAD_DAY = "Vul een datum in als dd-mm-jjjj, bijvoorbeeld 03-02-2026."
DAY_OUT_OF_RANGE = f"Vul een datum in met een jaartal van {EARLIEST_YEAR} tot en met {LATEST_YEAR}."


def parse_day(text: str) -> date | None:
    """A day as people type it: ``31-01-2026`` (also ``31/1/2026``; ``2026-01-31`` from older forms).

    Every web form's date goes through here: a day that is no date, or whose year lies outside
    ``EARLIEST_YEAR``..``LATEST_YEAR`` (``vault.services.calendar``), raises ``InvalidInput`` with a
    Dutch message (rule ``date-out-of-range`` for the year), which the page shows by the field."""
    value = text.strip()
    if not value:
        return None
    try:
        match = _DUTCH_DATE.fullmatch(value)
        if match:
            day, month, year = (int(part) for part in match.groups())
            parsed = date(year, month, day)
        else:
            parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(BAD_DAY) from None
    if date_problem(parsed) is not None:
        raise InvalidInput(DAY_OUT_OF_RANGE, rule=DATE_OUT_OF_RANGE)
    return parsed


def day_start(text: str) -> datetime | None:
    """Midnight (Amsterdam) at the start of the typed day."""
    day = parse_day(text)
    return None if day is None else datetime.combine(day, time(0), tzinfo=AMSTERDAM)


def action_choices() -> list[tuple[str, str]]:
    """Every audit tag as (code, Dutch label), ordered by label: the select shows words, never codes."""
    return sorted(((str(t), labels.label(labels.AUDIT_TAGS, t)) for t in AuditTag), key=lambda c: c[1])


def actor_label(actor_id: str | None) -> str | None:
    """What the officer's pages call an actor that is no account (None for an account): the vault
    itself, the public form, or a CLI operator by the OS account the log names (``os:<account>``)."""
    if actor_id == "system":
        return "het systeem (automatische taak)"
    if actor_id == "public_form":
        return "het meldformulier op de website"
    if actor_id and actor_id.startswith("os:"):
        return f"serverbeheer (opdrachtregel, account {actor_id.removeprefix('os:')})"
    return None


def oldest_first(entries: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """D20 work list: unreviewed emergency accesses, oldest first, each with its age in whole days."""
    listed = sorted(entries, key=lambda e: e["seq"])
    today = now.astimezone(AMSTERDAM).date()
    return [{**e, "age_days": (today - e["occurred_at"].astimezone(AMSTERDAM).date()).days} for e in listed]


def _who(line: dict[str, Any]) -> str:
    role = labels.label(labels.ROLES, line["role"]) if line["role"] else "onbekende rol"
    organisation = line["organisation"] or "Veilig Thuis"
    name = line["username"] or (
        "serverbeheer van Veilig Thuis"  # a person at the server's command line, not a task
        if line["role"] == "operator"
        else "het systeem (online formulier of automatische taak)"
    )
    return f"{name} ({role}, {organisation})"


def subject_overview_pdf(overview: dict[str, Any], now: datetime) -> bytes:
    """The data subject's "wie heeft mijn dossier ingezien" as a PDF, in Dutch."""
    reference = reference_of(overview["case_id"])
    rows = [
        (
            f"{labels.dutch_datetime(line['occurred_at'])} - {_who(line)}",
            labels.label(labels.AUDIT_TAGS, line["action"])
            + (
                f" - grond: {labels.label(labels.LEGAL_BASES, line['legal_basis'])}"
                if line["legal_basis"]
                else ""
            )
            + (" - met noodtoegang" if line["break_glass"] else ""),
        )
        for line in overview["lines"]
    ]
    # D8, D13: fixed sentences, never a count (a number that grows would tell the person that the
    # reporter consented or was named to a partner, or that another family member asked inzage).
    withheld = [
        (
            "Handelingen die de melder betreffen (als die er zijn)",
            "Niet vermeld, ook niet hoeveel. Wie een melding doet, blijft beschermd "
            "(Uitvoeringsbesluit Wmo 2015 art. 4.1.8 lid 3).",
        ),
        (
            "Geweigerde pogingen (als die er zijn)",
            "Niet vermeld, ook niet hoeveel. Daarbij is niets ingezien.",
        ),
        (
            "Verzoeken van andere betrokkenen (als die er zijn)",
            "Niet vermeld, ook niet hoeveel: of een ander gezinslid inzage of vernietiging vroeg, staat niet "
            "in dit overzicht (privacy van anderen, AVG art. 15 lid 4).",
        ),
        ("Doel van een inzage", "Niet vermeld: dat kan vrije tekst over andere personen bevatten."),
    ]
    return render_pdf(
        f"Wie heeft uw dossier ingezien - zaak {reference}",
        [
            ("Inzage en wijzigingen, oudste eerst (NEN 7513)", rows or [("", "Niemand.")]),
            ("Niet in dit overzicht, met reden", withheld),
        ],
        footer=f"Veilig Thuis - zaak {reference} - gemaakt {labels.dutch_datetime(now)}",
    )
