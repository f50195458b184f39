"""Dutch labels for the codes the services return (roles, categories, outcomes, audit tags)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "AUDIT_TAGS",
    "CASE_KINDS",
    "CATEGORIES",
    "LEGAL_BASES",
    "ORG_TYPES",
    "RELATIONS",
    "REVIEW_OUTCOMES",
    "ROLES",
    "TRIAGE_OUTCOMES",
    "dutch_date",
    "dutch_datetime",
    "label",
]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

ROLES = {
    "medewerker": "Medewerker",
    "vertrouwensarts": "Vertrouwensarts",
    "teamleider": "Teamleider",
    "privacy_officer": "Functionaris gegevensbescherming",
    "admin": "Beheerder",
    "partner": "Ketenpartner",
    "professional": "Professional",
    "system": "Systeem",
    "operator": "Beheerder (opdrachtregel)",
}

CATEGORIES = {
    "report": "Melding",
    "advice": "Advies",
    "safety_conditions": "Veiligheidsvoorwaarden",
    "safety_assessment": "Veiligheidsbeoordeling",
    "investigation": "Onderzoek",
    "medical": "Medisch (alleen vertrouwensarts)",
    "reporter_identity": "Identiteit melder",
    "correspondence": "Correspondentie",
    "statement": "Zienswijze",
    "subjects": "Betrokkenen",
}

CASE_KINDS = {
    "advice_help_seeker": "Advies aan hulpvrager",
    "advice_professional": "Advies aan professional",
    "report": "Melding",
}

TRIAGE_OUTCOMES = {
    "handover_local_team": "Overdracht aan lokaal team",
    "conditions_followup": "Voorwaarden en vervolg",
    "investigation": "Onderzoek",
    "request_child_protection_board": "Verzoek aan de Raad voor de Kinderbescherming",
    "end": "Afgesloten",
}

ORG_TYPES = {
    "veilig_thuis": "Veilig Thuis",
    "local_team": "Lokaal team",
    "child_protection_board": "Raad voor de Kinderbescherming",
    "police": "Politie",
    "public_prosecutor": "Openbaar Ministerie",
    "probation": "Reclassering",
    "victim_support": "Slachtofferhulp",
    "municipality": "Gemeente",
    "gp": "Huisarts",
    "school": "School",
    "care_provider": "Zorgaanbieder",
    "other": "Overig",
}

LEGAL_BASES = {
    "wmo-5.1.6": "Wmo 2015 art. 5.1.6 (wettelijke taak Veilig Thuis)",
    "wmo-4.1.1-2-help": "Wmo 2015 art. 4.1.1 lid 2 — hulpverlening",
    "wmo-4.1.1-2-police": "Wmo 2015 art. 4.1.1 lid 2 — politie, OM, reclassering, slachtofferhulp",
    "wmo-4.1.1-2-rvdk": "Wmo 2015 art. 4.1.1 lid 2 — Raad voor de Kinderbescherming",
    "wmo-4.1.1-2-rvdk-municipality": "Wmo 2015 art. 4.1.1 lid 2 — gemeente bij verzoek aan de Raad",
    "consent": "Toestemming van betrokkene",
}

RELATIONS = {
    "help_seeker": "Hulpvrager",
    "child": "Kind",
    "parent": "Ouder",
    "partner": "Partner",
    "household_member": "Huisgenoot",
    "alleged_perpetrator": "Vermoedelijke pleger",
    "other": "Overig",
}

REVIEW_OUTCOMES = {
    "justified": "Gerechtvaardigd",
    "unjustified": "Niet gerechtvaardigd",
    "needs_followup": "Vraagt om opvolging",
}

AUDIT_TAGS = {
    "dossier:document:read": "Document gelezen",
    "intake:submission:received": "Ontvangen via het online formulier",
    "intake:attachment:received": "Bijlage ontvangen via het online formulier",
    "dossier:document:created": "Document toegevoegd",
    "dossier:case:read": "Zaak bekeken",
    "dossier:case:created": "Zaak aangemaakt",
    "dossier:access:denied": "Toegang geweigerd",
    "dossier:subject:read": "Betrokkenen bekeken",
    "dossier:document-titles:read": "Documentenlijst bekeken",
    "disclosure:grant:created": "Verstrekking aangemaakt",
    "disclosure:grant:revoked": "Verstrekking ingetrokken",
    "disclosure:grant:denied": "Verstrekking geweigerd",
    "audit:access-report:viewed": "Toegangsrapport bekeken",
}


def label(table: dict[str, str], code: object) -> str:
    """The Dutch label of a code; an unknown code is shown as it is (it is never personal data)."""
    text = "" if code is None else str(code)
    return table.get(text, text)


def _local(value: datetime) -> datetime:
    return value.astimezone(AMSTERDAM)


def dutch_datetime(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return _local(parsed).strftime("%d-%m-%Y %H:%M")
    return _local(value).strftime("%d-%m-%Y %H:%M")


def dutch_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = _local(value).date()
    return value.strftime("%d-%m-%Y")
