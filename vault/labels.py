"""Dutch labels for the codes the services return (roles, categories, outcomes, audit tags).

In the lowest layer: the pages use them, and so do the documents a person receives (the inzage copy).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

__all__ = [
    "AUDIT_TAGS",
    "CASE_KINDS",
    "CATEGORIES",
    "CERTIFICATE_REASONS",
    "DECISIONS",
    "EXTENSION_REASONS",
    "FREE_TEXT_KINDS",
    "LEGAL_BASES",
    "NOTICES",
    "OBJECT_TYPES",
    "ORG_TYPES",
    "OWN_MOTION_DECLINE_REASONS",
    "REFUSAL_REASONS",
    "RELATIONS",
    "REQUESTERS",
    "REVIEW_DECISIONS",
    "REVIEW_OUTCOMES",
    "ROLES",
    "TRIAGE_OUTCOMES",
    "count_of",
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
    "public_form": "Meldformulier op de website",
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
    "needs_followup": "Nader onderzoek nodig",
}

# What an audit entry is about (``object_type`` of ``record(...)``; tests/web/test_fg_labels.py).
OBJECT_TYPES = {
    "access_request": "Inzageverzoek",
    "audit_entry": "Vastlegging",
    "audit_finding": "Bevinding van de logcontrole",
    "audit_log": "Auditlog",
    "blob_store": "Bestandsopslag",
    "case": "Zaak",
    "case_list": "Zakenlijst",
    "caseload": "Caseload van het team",
    "reference": "Zaaknummer",
    "timeline": "Tijdlijn",
    "certificate": "Vernietigingsverklaring",
    "checkpoint": "Controlepunt",
    "consent": "Toestemming",
    "destruction_request": "Vernietigingsverzoek",
    "document": "Document",
    "document_title": "Documenttitel",
    "document_titles": "Documentenlijst",
    "note": "Aantekening",
    "notes": "Aantekeningen",
    "grant": "Verstrekking",
    "grants": "Verstrekkingen",
    "hsm_backup_key": "Reservesleutel",
    "kek": "Sleutel",
    "list": "Lijst",
    "monitoring": "Monitoring",
    "organisation": "Organisatie",
    "own_motion": "Eigen initiatief",
    "passkey": "Passkey",
    "person": "Persoon",
    "pseudonym": "Pseudoniem",
    "recovery_code": "Herstelcode",
    "reidentification": "Heridentificatie",
    "reporter_identity": "Identiteit melder",
    "root_key": "Hoofdsleutel",
    "session": "Sessie",
    "subject": "Betrokkene",
    "subjects": "Betrokkenen",
    "team": "Team",
    "user": "Account",
    "worklist": "Werklijst",
}

DECISIONS = {"allow": "Toegestaan", "deny": "Geweigerd"}

# D11, D12: why a case was destroyed (the destruction certificate's ``reason``)
CERTIFICATE_REASONS = {
    "request_granted": "Verzoek om vernietiging toegewezen",
    "retention_expired": "Bewaartermijn verstreken",
}

# vault.services.rights.ExtensionReason: why an access request's deadline was extended (D12).
EXTENSION_REASONS = {
    "complex_request": "Het verzoek is ingewikkeld",
    "many_requests": "Er zijn veel verzoeken tegelijk",
    "third_party_consultation": "Anderen moeten eerst worden gehoord",
}
# vault.services.inzage.FreeTextKind / ReviewDecision: the free-text items reviewed for a copy (D13).
FREE_TEXT_KINDS = {"document_title": "Titel van een document", "note": "Aantekening"}
REVIEW_DECISIONS = {"released": "Vrijgegeven", "withheld": "Achtergehouden"}
# vault.services.rights.RequestedBy: who asked for inzage (D13: a child under 12 through a representative).
REQUESTERS = {"subject": "De betrokkene zelf", "representative": "Een wettelijk vertegenwoordiger"}
# vault.services.destruction.RefusalReason (D12 / Wmo 2015 art. 5.3.5): the fixed grounds of a refusal.
REFUSAL_REASONS = {
    "substantial_interest_other": "Een aanmerkelijk belang van een ander dan de verzoeker",
    "statutory_obligation": "Een wettelijk voorschrift verzet zich tegen vernietiging",
    "not_the_data_subject": "De verzoeker is geen betrokkene van dit dossier",
}
# vault.services.legal_hold.LiftReason (D12): why a legal hold ends before its date.
HOLD_LIFT_REASONS = {
    "proceedings_ended": "De procedure is afgerond",
    "obligation_ended": "De wettelijke plicht om te bewaren is vervallen",
    "placed_in_error": "De blokkade is ten onrechte geplaatst",
}
# vault.services.own_motion.DeclineReason (D4): why a staff member declines an own-motion request.
OWN_MOTION_DECLINE_REASONS = {
    "not_acute": "Geen acuut en hoog risico",
    "talk_first": "Eerst een persoonlijk gesprek",
    "other_route": "Andere route gekozen",
}

AUDIT_TAGS = {
    # Start-up, keys and operations
    "system:vault:init": "Kluis ingericht",
    "system:keys:rotate": "Sleutels vernieuwd",
    "system:demo:loaded": "Voorbeeldgegevens geladen",
    "system:keys:rewrapped": "Sleutels opnieuw verpakt",
    "system:keys:removed": "Oude sleutels verwijderd",
    "system:keys:epoch_destroyed": "Sleutelperiode vernietigd",
    "system:keys:migrated": "Sleutels overgezet",
    "system:keys:split": "Hoofdsleutel in delen verdeeld",
    "system:keys:recovered": "Hoofdsleutel hersteld uit delen",
    "system:retention:swept": "Bewaartermijnen nagelopen",
    "system:readiness:probe": "Beschikbaarheid gecontroleerd",
    # Logging in and second factors
    "auth:login:ok": "Aangemeld met wachtwoord",
    "auth:login:failed": "Aanmelden mislukt",
    "auth:totp:ok": "Tweede factor goedgekeurd",
    "auth:totp:failed": "Tweede factor onjuist",
    "auth:totp:replayed": "Code van de tweede factor hergebruikt (geweigerd)",
    "auth:totp:enrolment-started": "Instellen van de tweede factor gestart",
    "auth:recovery:used": "Herstelcode gebruikt",
    "auth:recovery:failed": "Herstelcode onjuist",
    "auth:recovery:regenerated": "Nieuwe herstelcodes gemaakt",
    "auth:session:ended": "Afgemeld",
    "auth:step-up:ok": "Opnieuw bevestigd met de tweede factor",
    "auth:password:changed": "Wachtwoord gewijzigd",
    "auth:password:change-failed": "Wachtwoord wijzigen mislukt",
    # Dossiers
    "dossier:case:assigned": "Zaak toegewezen",
    "dossier:case:unassigned": "Toewijzing van een zaak ingetrokken",
    "dossier:case:destroyed": "Zaak vernietigd",
    "dossier:case:certified": "Vernietiging van een zaak verklaard",
    "dossier:person:lookup": "Persoon opgezocht",
    "dossier:subject:added": "Betrokkene toegevoegd",
    "dossier:subject:corrected": "Gegevens van een betrokkene gecorrigeerd",
    "dossier:consent:read": "Toestemming bekeken (voor intrekken)",
    "dossier:reporter-identity:recorded": "Identiteit melder vastgelegd",
    "dossier:reporter-identity:read": "Identiteit melder ingezien",
    "dossier:reporter-identity:consent": "Toestemming melder vastgelegd",
    "dossier:reporter-identity:released": "Identiteit melder vrijgegeven",
    "dossier:consent:recorded": "Toestemming vastgelegd",
    "dossier:consent:withdrawn": "Toestemming ingetrokken",
    "dossier:meldcode:step": "Stap van de meldcode vastgelegd",
    "dossier:triage:decided": "Triagebesluit genomen",
    "dossier:investigation:updated": "Onderzoek bijgewerkt",
    "dossier:monitoring:done": "Monitoring uitgevoerd",
    "dossier:own-motion:requested": "Eigen initiatief aangevraagd",
    "dossier:own-motion:approved": "Eigen initiatief goedgekeurd",
    "dossier:own-motion:converted": "Advies omgezet in melding (eigen initiatief)",
    "dossier:monitoring:postponed": "Monitoring uitgesteld",
    "dossier:own-motion:read": "Verzoek om ambtshalve melding bekeken",
    "dossier:own-motion:withdrawn": "Verzoek om ambtshalve melding ingetrokken",
    "dossier:own-motion:declined": "Verzoek om ambtshalve melding afgewezen",
    "dossier:note:added": "Aantekening toegevoegd",
    "dossier:notes:read": "Aantekeningen gelezen",
    "dossier:client:reidentified": "Cliënt opnieuw geïdentificeerd",
    "dossier:worklist:viewed": "Werklijst bekeken",
    "dossier:reference:searched": "Zaak gezocht op zaaknummer",
    "dossier:family-name:read": "Achternaam getoond in een zakenlijst",
    "dossier:caseload:viewed": "Caseload van het team bekeken",
    "dossier:timeline:read": "Tijdlijn bekeken",
    # Subjects' rights
    "rights:access:requested": "Verzoek om inzage ontvangen",
    "rights:access:extended": "Termijn van een inzageverzoek verlengd",
    "rights:access:completed": "Inzageverzoek afgehandeld",
    "rights:access:listed": "Inzageverzoeken bekeken",
    "rights:destruction:requested": "Verzoek om vernietiging ontvangen",
    "rights:destruction:granted": "Verzoek om vernietiging toegewezen",
    "rights:destruction:refused": "Verzoek om vernietiging afgewezen",
    "rights:retention:extended": "Bewaartermijn verlengd",
    "rights:legal-hold:lifted": "Bewaarplicht (juridische blokkade) opgeheven",
    # Disclosures
    "disclosure:grant:extended": "Verstrekking verlengd",
    "disclosure:inbox:listed": "Verstrekkingen van de ketenpartner bekeken",
    "disclosure:feedback:prepared": "Terugkoppeling aan de melder voorbereid",
    # The audit log itself (privacy officer)
    "audit:checkpoint:created": "Controlepunt van het auditlog ondertekend",
    "audit:log:exported": "Auditlog geëxporteerd",
    "audit:log:searched": "Auditlog doorzocht",
    "audit:break-glass:listed": "Noodtoegangen bekeken",
    "audit:break-glass:reviewed": "Noodtoegang beoordeeld",
    "audit:integrity:viewed": "Integriteit van het auditlog bekeken",
    "audit:checkpoint:viewed": "Controlepunt bekeken",
    "audit:proof:issued": "Bewijs van een vastlegging opgevraagd",
    "audit:access:denied": "Inzage in het auditlog geweigerd",
    "dossier:document:read": "Document gelezen",
    "dossier:document:read_failed": "Document lezen niet voltooid: de opslag faalde",
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
    "disclosure:register:read": "Verstrekkingen bekeken",
    "disclosure:consents:listed": "Toestemmingen voor delen bekeken",
    "disclosure:grant:duplicate-warned": "Gewaarschuwd: er loopt al een gelijke verstrekking",
    "disclosure:history:read": "Ophaalgeschiedenis van een ketenpartner bekeken",
    "rights:destruction:listed": "Vernietigingsverzoeken bekeken",
    "rights:certificate:read": "Vernietigingsverklaring bekeken",
    "rights:inzage:exported": "Inzagekopie gemaakt",
    "rights:inzage:items-listed": "Vrije tekst voor inzage bekeken",
    "rights:inzage:reviewed": "Vrije tekst voor inzage beoordeeld",
    "rights:inzage:item-released": "Vrije tekst vrijgegeven voor inzage",
    "rights:inzage:item-withheld": "Vrije tekst achtergehouden bij inzage",
    "rights:requests:read": "Verzoeken van betrokkenen bekeken",
    "auth:account:lockout": "Aanmelden tijdelijk geblokkeerd vanaf één adres",
    "auth:account:ceiling-reached": "Account voor iedereen geblokkeerd (melding voor beheerders)",
    "audit:log:verify-started": "Volledige controle van het auditlog gestart",
    "audit:log:verified": "Auditlog volledig gecontroleerd",
    # Administrator (issue 18)
    "admin:user:created": "Account aangemaakt",
    "admin:user:disabled": "Account uitgeschakeld",
    "admin:user:enabled": "Account weer ingeschakeld",
    "admin:user:password-reset": "Nieuw beginwachtwoord voor een account",
    "admin:user:role-changed": "Rol van een account gewijzigd",
    "admin:team:created": "Team aangemaakt",
    "admin:org:created": "Organisatie aangemaakt",
    "admin:membership:changed": "Teamlidmaatschap gewijzigd",
    "admin:access:denied": "Beheerhandeling geweigerd (geen beheerder)",
    "admin:blobs:checked": "Bestandsopslag gecontroleerd",
    "admin:blobs:swept": "Bestanden zonder document uit de opslag verwijderd",
    "auth:totp:reset": "Tweede factor opnieuw ingesteld door een beheerder",
    "auth:totp:enrolled": "Tweede factor ingesteld",
    "system:policy:reload": "Toegangsbeleid opnieuw geladen",
    "system:policy:reload-requested": "Opnieuw laden van het toegangsbeleid gevraagd op de server",
    "auth:passkey:registration-started": "Toevoegen van een passkey gestart",
    "auth:passkey:registered": "Passkey toegevoegd",
    "auth:passkey:registration-failed": "Toevoegen van een passkey mislukt",
    "auth:passkey:assertion-started": "Aanmelden met een passkey gestart",
    "auth:passkey:ok": "Aangemeld met een passkey",
    "auth:passkey:failed": "Aanmelden met een passkey mislukt",
    "auth:passkey:clone-suspected": "Passkey verdacht: mogelijk gekopieerd (teller liep terug)",
    "auth:passkey:removed": "Passkey verwijderd door de gebruiker",
    "auth:passkey:revoked": "Passkey ingetrokken door een beheerder",
    "auth:passkey:required": "Code geweigerd: deze rol meldt zich aan met een passkey",
    "auth:passkey:enrolment-only": "Aangemeld zonder passkey: alleen een passkey toevoegen toegestaan",
    "auth:factors:listed": "Overzicht van aanmeldmiddelen bekeken",
    "audit:review:run": "Logcontrole uitgevoerd",
    "audit:findings:listed": "Bevindingen van de logcontrole bekeken",
    "audit:finding:viewed": "Bevinding van de logcontrole geopend",
    "audit:finding:status-changed": "Status van een bevinding gewijzigd",
    "dossier:case:protection-changed": "Afscherming van een dossier gewijzigd",
    "audit:case:protection-changed": "Afscherming van een dossier gewijzigd door de FG",
    "auth:enrolment:recorded": "Eigen gegevens voor de logcontrole vastgelegd",
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


# H1: case lists (vault.services.caseload) and the timeline's kinds (vault.services.timeline)
CASE_STATUSES = {
    "triage": "Triage",
    "investigation": "Onderzoek",
    "monitoring": "Monitoring",
    "advice": "Advies",
    "closed": "Afgesloten",
}
DEADLINES = {
    "triage": "Triage",
    "investigation_start": "Start onderzoek",
    "judgement": "Oordeel onderzoek",
    "monitoring": "Monitoring",
}
TIMELINE_KINDS = {
    "inzage": "Inzage",
    "wijziging": "Wijziging",
    "verstrekking": "Verstrekking",
    "toegang": "Geweigerde toegang",
    "toezicht": "Toezicht (FG)",
}


# Confirmations shown once after a form post (``render.see_other(…, notice=key)``): fixed texts only.
# Add a key here when a page confirms something new.
NOTICES: dict[str, str] = {
    "opgeslagen": "Opgeslagen.",
    # D20: the break-the-glass form used by someone who may read the case already
    "al-toegang": "U heeft al toegang tot deze zaak; er is geen noodtoegang nodig.",
    # H3: people, consent, the reporter (D2, D8, D9)
    "betrokkene-toegevoegd": "De betrokkene is toegevoegd.",
    "betrokkene-gecorrigeerd": "De gegevens van de betrokkene zijn gecorrigeerd.",
    "toestemming-kind-vervallen": (
        "De gegevens van de betrokkene zijn gecorrigeerd. De toestemming om te delen die dit kind gaf, is "
        "vervallen: volgens de gecorrigeerde gegevens kan het kind die niet zelf geven (jonger dan 12 jaar, "
        "geen geboortedatum of geen kind van deze zaak). Verstrekkingen op basis daarvan zijn ingetrokken."
    ),
    "toestemming-vastgelegd": "De toestemming is vastgelegd.",
    "toestemming-ingetrokken": "De toestemming is ingetrokken, en de verstrekkingen die erop rustten ook.",
    "melder-toestemming": "De toestemming van de melder om de identiteit te verstrekken is vastgelegd.",
    "melder-vrijgegeven": "De identiteit van de melder is vrijgegeven, met de reden.",
    # H5: journal notes
    "aantekening-toegevoegd": "De aantekening is toegevoegd en versleuteld bewaard.",
    # H4: the case workflow
    "triage-vastgelegd": "Het triagebesluit is vastgelegd.",
    "overdracht-vastgelegd": (
        "Het triagebesluit en de verstrekking aan de ontvangende organisatie zijn vastgelegd."
    ),
    "onderzoek-vastgelegd": "Het onderzoek is bijgewerkt.",
    "monitoring-gedaan": "De monitoring is als uitgevoerd vastgelegd.",
    "monitoring-uitgesteld": "De monitoring is uitgesteld naar de nieuwe datum.",
    "ambtshalve-aangevraagd": "Het verzoek om een ambtshalve melding is vastgelegd.",
    "ambtshalve-goedgekeurd": (
        "Uw goedkeuring is vastgelegd. Er is nog een goedkeuring van een andere discipline nodig."
    ),
    "ambtshalve-omgezet": "De zaak is omgezet in een melding (ambtshalve). De triagetermijn loopt nu.",
    "ambtshalve-ingetrokken": (
        "Het verzoek om een ambtshalve melding is ingetrokken. De zaak blijft een adviesvraag."
    ),
    "ambtshalve-afgewezen": (
        "U heeft het verzoek om een ambtshalve melding afgewezen, met de reden. "
        "De zaak blijft een adviesvraag."
    ),
    "toegewezen": "De medewerker is aan de zaak toegewezen.",
    "toewijzing-beeindigd": "De toewijzing is beëindigd.",
    "bewaartermijn-verlengd": "De bewaartermijn is verlengd.",
    "blokkade-opgeheven": (
        "De juridische blokkade is opgeheven en de reden is vastgelegd. Hieronder staat de "
        "vernietigingsdatum die nu geldt."
    ),
    "document-opgeslagen": "Het document is opgeslagen en versleuteld bewaard.",
    "verstrekking-vastgelegd": "De verstrekking is vastgelegd. De ketenpartner kan nu ophalen wat u deelde.",
    "verstrekking-ingetrokken": "De verstrekking is ingetrokken. De ketenpartner kan niets meer ophalen.",
    "verstrekking-verlengd": "De verstrekking is verlengd.",
    # H6: subjects' rights
    "inzageverzoek-vastgelegd": "Het inzageverzoek is vastgelegd. Beantwoord het binnen vier weken.",
    "vrije-tekst-beoordeeld": "Uw beoordeling van de vrije tekst is vastgelegd.",
    "inzageverzoek-verlengd": "De termijn van het inzageverzoek is verlengd.",
    "inzageverzoek-afgehandeld": "Het inzageverzoek is als beantwoord vastgelegd.",
    "vernietigingsverzoek-vastgelegd": "Het vernietigingsverzoek is vastgelegd. Besluit binnen drie maanden.",
    "vernietigingsverzoek-afgewezen": "Het vernietigingsverzoek is afgewezen. De reden is vastgelegd.",
    "zaak-vernietigd": "De zaak is vernietigd. Hieronder staat de vernietigingsverklaring.",
    "zienswijze-toegevoegd": (
        "De zienswijze staat nu naast het document. Het document zelf is niet gewijzigd."
    ),
}


def count_of(n: int, singular: str, plural: str) -> str:
    """Dutch singular/plural with the number: ``count_of(1, "zaak", "zaken")`` → "1 zaak"."""
    return f"{n} {singular if n == 1 else plural}"
