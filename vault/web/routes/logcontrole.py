"""Logcontrole for the privacy officer (D21): the findings of the daily log review, one finding with
its evidence and proofs, its status and a comment, a per-person view, and "review now"."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import AuditTag, reference_of
from vault.errors import Forbidden, InvalidInput
from vault.http.deps import VaultDep
from vault.logcontrole import service
from vault.logcontrole.daily import unreviewed_days
from vault.logcontrole.engine import previous_day
from vault.logcontrole.store import FindingCursor, FindingStatus
from vault.services.audit_reports import require_privacy_officer
from vault.services.calendar import EARLIEST_YEAR, LATEST_YEAR
from vault.services.directory import usernames
from vault.services.person_fields import PersonFields
from vault.transaction import transaction
from vault.web.csrf import VerifiedForm
from vault.web.fg_reports import actor_label, parse_day
from vault.web.render import page, see_other
from vault.web.session import WebActor, WebUser

router = APIRouter(prefix="/fg/logcontrole", include_in_schema=False)

DETECTORS = {
    "own_circle": "Eigen kring",
    "colleague": "Dossier van een collega",
    "protected": "Afgeschermd dossier",
    "spike": "Veel lezers tegelijk",
    "volume": "Ongewoon veel inzagen",
    "off_hours": "Buiten de gewone uren",
    "lookup": "Persoon opgezocht zonder vervolg",
    "break_glass": "Noodtoegang",
    "probing": "Herhaald geweigerd",
    "after_closure": "Inzage lang na afsluiten",
    "admin_takeover": "Beheerder zette inloggegevens, daarna inzage",
}
STATUSES = {
    FindingStatus.NEW.value: "Nieuw",
    FindingStatus.IN_PROGRESS.value: "In behandeling",
    FindingStatus.EXPLAINED.value: "Verklaard",
    FindingStatus.ESCALATED.value: "Geëscaleerd",
}
REASONS = {
    "use": "gebruikt",
    "short": "korte onderbouwing",
    "repeated": "onderbouwing letterlijk herhaald",
    "no_work": "geen vervolgwerk",
    "relation_or_address": "relatie of adres van een betrokkene",
    "attempt": "poging, geweigerd",
    "own_dossier": "eigen dossier",
    "colleague_subject": "een collega is betrokkene",
    "not_assigned": "niet toegewezen",
    "protection_lifted": "niet toegewezen, kort na het opheffen van de afscherming",
    "readers": "veel verschillende lezers",
    "reads": "aantal inzagen",
    "hours": "tijdstip",
    "other_teams": "alleen zaken van andere teams",
    "one_case": "één zaak",
    "many_cases": "veel zaken",
    "closed": "zaak lang afgesloten, geen open verzoek",
    "new_account": "nieuw account van de beheerder",
    "password_reset": "wachtwoord hersteld door de beheerder",
    "factor_reset": "tweede factor gewist door de beheerder",
    "factor_installed": "tweede factor ingesteld door de beheerder",
    "same_client": "aangemeld vanaf hetzelfde adres als de beheerder",
    "unusual_hours": "inzage op ongewone uren voor dit account",
    "overseer_account": "account van een beheerder of functionaris gegevensbescherming",
    "chained": "via een account dat deze beheerder eerder had overgenomen",
    "cases_per_hour": "veel verschillende zaken in één uur",
}
FindingId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _labels() -> dict[str, Any]:
    return {"detectors": DETECTORS, "statuses": STATUSES, "zaakref": reference_of, "reden": _reason}


def _names(vault: VaultDep, actor_ids: list[str | None]) -> dict[str, str]:
    """Usernames, and for an actor that is no account (a CLI operator, the system) what the officer's
    other pages call it, never "onbekende gebruiker" (session 18, L8)."""
    names = usernames(vault, actor_ids)
    for actor_id in actor_ids:
        label = actor_label(actor_id) if actor_id and actor_id not in names else None
        if actor_id and label:
            names[actor_id] = label
    return names


def _reason(code: str) -> str:
    return ", ".join(REASONS.get(part, part) for part in code.split("+"))


PAGE_SIZE = 50
_BAD_CURSOR = (
    "Deze vervolgpagina bestaat niet (de link is niet volledig of aangepast). "
    "U ziet de lijst weer vanaf het begin."
)


def _list_url(status: str | None, person: str | None, cursor: FindingCursor | None = None) -> str:
    terms = {"status": status, "persoon": person, "na": str(cursor) if cursor else None}
    query = urlencode({k: v for k, v in terms.items() if v})
    return f"/fg/logcontrole?{query}" if query else "/fg/logcontrole"


def _list_page(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    *,
    status: str | None,
    person: str | None,
    cursor: FindingCursor | None = None,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """One page of findings (D21: each needs a verdict, so "Volgende" reaches every one of them)."""
    with transaction(vault.db) as session:
        listed = service.findings(
            session, vault, actor.ctx, status=status, actor_id=person, after=cursor, limit=PAGE_SIZE
        )
    rows = listed.rows
    names = _names(vault, [r.actor_id for r in rows] + [person])
    return page(
        request,
        "fg_findings.html",
        actor=actor,
        findings=rows,
        total=listed.total,
        continued=cursor is not None,
        next_url=_list_url(status, person, listed.next) if listed.next else None,
        first_url=_list_url(status, person),
        names=names,
        status=status or "",
        person=person,
        notice=notice,
        error=error,
        status_code=status_code,
        unreviewed=unreviewed_days(vault, actor.ctx.now()),  # D21: a day the daily review missed
        **_labels(),
    )


@router.get("")
def findings(
    request: Request,
    vault: VaultDep,
    actor: WebUser,
    status: str | None = None,
    persoon: str | None = None,
    na: str | None = None,
) -> HTMLResponse:
    """The findings, ``PAGE_SIZE`` a page; ``na`` is where the previous page ended (its last finding).
    A cursor that is not one is 400 with the reason and the first page (after the role check)."""
    chosen = status if status in STATUSES else None
    person = persoon[:64] if persoon else None
    if na is None:
        return _list_page(request, vault, actor, status=chosen, person=person)
    require_privacy_officer(vault, actor.ctx, AuditTag.AUDIT_FINDINGS_LISTED)  # before what was sent
    try:
        cursor = FindingCursor.parse(na[:64])
    except InvalidInput:
        return _list_page(
            request, vault, actor, status=chosen, person=person, error=_BAD_CURSOR, status_code=400
        )
    return _list_page(request, vault, actor, status=chosen, person=person, cursor=cursor)


@router.post("/controle")
def review_now(request: Request, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """Review the previous day now, or (``ontbrekend``) every day since the first one of the last week
    that no review covered (idempotent: a second run updates the same findings)."""
    ctx = form.user.ctx
    require_privacy_officer(vault, ctx, AuditTag.AUDIT_REVIEW_RUN)  # the role before what was posted
    start, end = previous_day(ctx.now())
    missing = unreviewed_days(vault, ctx.now()) if form.text("ontbrekend", limit=2) == "ja" else []
    if missing:
        start = datetime.combine(missing[0], time(), tzinfo=UTC)
    result = service.start_review(vault, ctx, start, end)
    period = (
        f"{start:%d-%m-%Y}" if end - start <= timedelta(days=1) else f"{start:%d-%m-%Y} tot {end:%d-%m-%Y}"
    )
    notice = f"Controle van {period} klaar: {result.new} nieuwe en {result.updated} bijgewerkte bevindingen."
    return _list_page(request, vault, form.user, status=None, person=None, notice=notice)


def _detail_page(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    finding_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    with transaction(vault.db) as session:
        detail = service.finding_detail(session, vault, actor.ctx, finding_id)
    found = detail["finding"]
    history = detail["history"]
    names = _names(
        vault,
        [
            found["actor_id"],
            found["status_by"],
            *(e["actor_id"] for e in detail["evidence"]),
            *(h["actor_id"] for h in history),
        ],
    )
    return page(
        request,
        "fg_finding.html",
        actor=actor,
        f=found,
        comment=detail["comment"],
        evidence=detail["evidence"],
        proofs=detail["proofs"],
        history=history,
        names=names,
        # about the officer, or one of its evidence entries is theirs (a spike): escalate only (L2)
        own=actor.ctx.actor_id in {found["actor_id"], *(e["actor_id"] for e in detail["evidence"])},
        proof_error=detail["proof_error"],
        altered=detail["altered"],
        errors=errors or {},
        values=values or {},
        status_code=status_code,
        **_labels(),
    )


@router.get("/{finding_id}")
def finding(request: Request, vault: VaultDep, actor: WebUser, finding_id: FindingId) -> HTMLResponse:
    return _detail_page(request, vault, actor, finding_id)


@router.post("/{finding_id}")
def set_status(request: Request, vault: VaultDep, form: VerifiedForm, finding_id: FindingId) -> Response:
    require_privacy_officer(vault, form.user.ctx, AuditTag.AUDIT_FINDING_STATUS_CHANGED)
    status = form.text("status", limit=20)
    comment = form.text("comment", limit=service.MAX_COMMENT + 1)
    errors: dict[str, str] = {}
    if status not in STATUSES:
        errors["status"] = "Kies een status."
    if len(comment) > service.MAX_COMMENT:
        errors["comment"] = "De toelichting is te lang (hoogstens 2000 tekens)."
    elif status == FindingStatus.EXPLAINED.value and not comment.strip():
        errors["comment"] = "Schrijf op waarom de toegang verklaard is."
    if errors:
        # The form again with what was typed (the comment, a valid status) and each error by its field.
        values = {"status": status if status in STATUSES else "", "comment": comment}
        return _detail_page(
            request, vault, form.user, finding_id, errors=errors, values=values, status_code=400
        )
    try:
        with transaction(vault.db) as session:
            service.set_finding_status(session, vault, form.user.ctx, finding_id, status, comment or None)
    except Forbidden as exc:
        if exc.rule not in {service.OWN_FINDING, service.OFFICER_SET_BY_PERSON, service.COMMENT_KEPT}:
            raise
        errors = {"status": "Een bevinding over uzelf kunt u alleen escaleren."}
        if exc.rule == service.COMMENT_KEPT:
            errors = {
                "comment": "Deze bevinding gaat over u. U kunt haar escaleren, maar de toelichting van "
                "een andere functionaris niet vervangen. Laat de toelichting leeg."
            }
        if exc.rule == service.OFFICER_SET_BY_PERSON:
            errors["status"] = (
                "Deze persoon heeft uw account, wachtwoord, tweede factor of rol ingesteld. U kunt deze "
                "bevinding alleen escaleren."
            )
        values = {"status": status if exc.rule == service.COMMENT_KEPT else "", "comment": comment}
        return _detail_page(
            request, vault, form.user, finding_id, errors=errors, values=values, status_code=403
        )
    return see_other(f"/fg/logcontrole/{finding_id}")


# --- a staff member's own enrolment data (own circle, colleague's dossier) -----------------------

enrolment_router = APIRouter(include_in_schema=False)

_RELATION_ROWS = 3
_ENROL_ERROR = (
    "Controleer de gegevens: een BSN heeft 9 cijfers en klopt met de elfproef, een postcode is 4 cijfers "
    f"en 2 letters met een huisnummer erbij, een geboortedatum heeft een jaartal van {EARLIEST_YEAR} tot en "
    f"met {LATEST_YEAR}, en bij een naaste hoort een BSN of een naam met geboortedatum."
)


_BSN_ERROR = "Een BSN heeft 9 cijfers en klopt met de elfproef."
_POSTCODE = re.compile(r"[1-9][0-9]{3}\s?[A-Za-z]{2}")
_HOUSE_NUMBER = re.compile(r"[0-9]{1,5}(\s?-?\s?[A-Za-z0-9]{1,4})?")
_ENROL_FIELDS = (
    "bsn",
    "name",
    "dob",
    "postcode",
    "house_number",
    *(f"rel{i}_{part}" for i in range(1, _RELATION_ROWS + 1) for part in ("bsn", "name", "dob")),
)


def _enrol_page(
    request: Request,
    actor: WebActor,
    *,
    notice: str = "",
    error: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "staff_enrolment.html",
        actor=actor,
        rows=range(1, _RELATION_ROWS + 1),
        notice=notice,
        error=error,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@enrolment_router.get("/eigen-gegevens")
def enrolment_form(request: Request, actor: WebUser) -> HTMLResponse:
    return _enrol_page(request, actor)


def _bsn_error(value: str) -> str | None:
    try:
        PersonFields(bsn=value).checked()
    except InvalidInput:
        return _BSN_ERROR
    return None


def _enrol_errors(values: dict[str, str]) -> tuple[dict[str, str], dict[str, date | None]]:
    """Each field's own problem (by its field, in Dutch), and the dates as read."""
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("dob", *(f"rel{i}_dob" for i in range(1, _RELATION_ROWS + 1))):
        try:
            days[name] = parse_day(values[name])
        except InvalidInput as exc:
            errors[name] = exc.message
            days[name] = None
    for name in ("bsn", *(f"rel{i}_bsn" for i in range(1, _RELATION_ROWS + 1))):
        problem = _bsn_error(values[name]) if values[name] else None
        if problem:
            errors[name] = problem
    if values["postcode"] and not _POSTCODE.fullmatch(values["postcode"]):
        errors["postcode"] = "Een postcode is 4 cijfers en 2 letters, bijvoorbeeld 3511 AB."
    if values["house_number"] and not _HOUSE_NUMBER.fullmatch(values["house_number"]):
        errors["house_number"] = "Een huisnummer begint met cijfers, bijvoorbeeld 12 of 12A."
    if values["postcode"] and not values["house_number"]:
        errors.setdefault("house_number", "Vul bij de postcode ook het huisnummer in.")
    if values["house_number"] and not values["postcode"]:
        errors.setdefault("postcode", "Vul bij het huisnummer ook de postcode in.")
    for i in range(1, _RELATION_ROWS + 1):
        bsn, name, born = values[f"rel{i}_bsn"], values[f"rel{i}_name"], values[f"rel{i}_dob"]
        if bsn or not (name or born):
            continue
        if not name:
            errors.setdefault(
                f"rel{i}_name", f"Naaste {i}: vul een BSN in, of een naam bij de geboortedatum."
            )
        elif not born:
            errors.setdefault(f"rel{i}_dob", f"Naaste {i}: vul een BSN in, of een geboortedatum bij de naam.")
    return errors, days


@enrolment_router.post("/eigen-gegevens")
def enrolment_save(request: Request, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """Stores only keyed blind indexes of what was typed; the values are never stored nor shown again
    (after a refusal the form shows what was typed, so nothing has to be typed twice)."""
    limits = {"name": 200, **{f"rel{i}_name": 200 for i in range(1, _RELATION_ROWS + 1)}}
    values = {name: form.text(name, limit=limits.get(name, 20)) for name in _ENROL_FIELDS}
    errors, days = _enrol_errors(values)
    if errors:
        return _enrol_page(request, form.user, values=values, errors=errors, status_code=400)
    relations = []
    for i in range(1, _RELATION_ROWS + 1):
        bsn, name, born = values[f"rel{i}_bsn"], values[f"rel{i}_name"], days[f"rel{i}_dob"]
        if bsn or name or born:
            relations.append(service.Relation(bsn or None, name or None, born))
    enrolment = service.Enrolment(
        bsn=values["bsn"] or None,
        name=values["name"] or None,
        date_of_birth=days["dob"],
        postcode=values["postcode"] or None,
        house_number=values["house_number"] or None,
        relations=tuple(relations),
    )
    try:
        kept = service.record_enrolment(vault, form.user.ctx, enrolment)
    except InvalidInput:
        return _enrol_page(request, form.user, error=_ENROL_ERROR, values=values, status_code=400)
    notice = f"Opgeslagen: {kept} versleutelde kenmerken. Wat u hebt ingevuld, is zelf niet bewaard."
    return _enrol_page(request, form.user, notice=notice)
