"""The privacy officer (FG): audit search, break-the-glass review (D20), integrity status and export
(the per-case access report, D15, with its PDF and proof bundles: ``privacy_access``). Log data only —
the FG never opens case content (the gate refuses)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from vault.audit.export import ExportFormat, sealed_export
from vault.audit.queries import EntryFilter
from vault.audit.search import (
    MAX_MATCHES,
    TOO_MANY_CASES,
    TOO_MANY_USERS,
    every_case_for_reference,
    every_user_for_name,
    user_ids_for_name,
)
from vault.context import Context
from vault.domain import AuditTag, Decision, reference_of
from vault.errors import Conflict, InvalidInput, StepUpRequired
from vault.http.deps import VaultDep
from vault.labels import AMSTERDAM, OBJECT_TYPES, label
from vault.services import audit_reports
from vault.services.audit_reports import ReviewOutcome
from vault.services.calendar import EARLIEST_YEAR, LATEST_YEAR
from vault.services.directory import usernames
from vault.transaction import transaction
from vault.web.csrf import VerifiedForm, WebForm
from vault.web.fg_reports import DUTCH_CSV, action_choices, actor_label, day_start, oldest_first
from vault.web.render import page, see_other
from vault.web.session import WebActor, WebUser

router = APIRouter(prefix="/fg", include_in_schema=False)

_PAGE = 50
_EXPORT_SPOOL = 8 * 1024 * 1024


def _step_up(vault: VaultDep, actor: WebActor) -> None:
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("this action needs a recent second-factor check")


def _officer_only(vault: VaultDep, actor: WebActor, attempted: AuditTag) -> None:
    """The role check, first in every handler: anyone else gets the same audited 403 page whatever they
    typed (no oracle of which cases or accounts exist); records nothing for the privacy officer."""
    audit_reports.require_privacy_officer(vault, actor.ctx, attempted)


@router.get("")
def overview(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    with transaction(vault.db) as session:
        integrity = audit_reports.integrity_view(session, vault, actor.ctx)
        work = oldest_first(_unreviewed(session, vault, actor), vault.clock.now())
    return page(
        request,
        "fg_overview.html",
        actor=actor,
        integrity=integrity,
        pending=work,
        first_page=_BG_PAGE,  # these are on /fg/noodtoegang itself; a later one's link carries its page
        names=_names(vault, work),
        zaakref=reference_of,
    )


_FIELDS = ("zaak", "medewerker", "tag", "from", "to", "decision", "break_glass")


def _page_values(**values: Any) -> dict[str, Any]:
    """What every page that lists entries needs besides its own values: references and Dutch labels."""
    return {
        "zaakref": reference_of,
        "objectsoort": lambda c: label(OBJECT_TYPES, c),
        "actions": action_choices(),
        **values,
    }


def _filters(form: WebForm | None) -> tuple[EntryFilter, str, str]:
    """The form's terms: dates as dd-mm-jjjj, an action code from the select (shown as words), the
    decision and the break-glass flag; the case reference and username come back as typed, for
    ``_resolve``. Raises ``InvalidInput`` (the page says which) on a bad date or unknown action; a
    year outside the calendar's range is refused by ``parse_day``, so the inclusive "to" (one day
    added) never steps past the last date Python knows."""
    if form is None:
        return EntryFilter(), "", ""
    until = day_start(form.day("to"))
    decision = form.text("decision", limit=8)
    flag = form.text("break_glass", limit=5)
    tag = form.text("tag", limit=64)
    if tag and tag not in {str(t) for t in AuditTag}:
        raise InvalidInput("unknown action")
    since = day_start(form.day("from"))
    if since is not None and until is not None and since > until:
        raise InvalidInput("the period ends before it begins", rule=_REVERSED)
    filters = EntryFilter(
        tag=tag or None,
        since=since,
        until=until + timedelta(days=1) if until else None,  # "to" is inclusive on the page
        break_glass=True if flag == "ja" else None,
        decision=decision if decision in {d.value for d in Decision} else None,
    )
    return filters, form.text("zaak", limit=64), form.text("medewerker", limit=64)


def _resolve(session: Session, filters: EntryFilter, zaak: str, medewerker: str) -> EntryFilter:
    """Reference and username → the ids the log holds (``vault.audit.search``); every match or, when
    more match than a search takes, ``InvalidInput`` (never a search silently cut short)."""
    if zaak:
        filters = replace(filters, case_ids=tuple(every_case_for_reference(session, zaak)))
    if medewerker:
        filters = replace(filters, actor_ids=tuple(every_user_for_name(session, medewerker)))
    return filters


def _names(vault: VaultDep, entries: list[dict[str, Any]]) -> dict[str, str]:
    """Usernames, and for an actor that is no account (the system, a CLI operator) what it is."""
    actors = [e.get("actor_id") for e in entries]
    others = {a: name for a in actors if a and (name := actor_label(a)) is not None}
    return {**others, **usernames(vault, actors)}


_DATES = f"datums als dd-mm-jjjj (jaartal {EARLIEST_YEAR} tot en met {LATEST_YEAR})"
_BAD_TERMS = f"Controleer de zoektermen: {_DATES}, een zaaknummer als VT-XXXX-XXXX of het begin ervan."
_REVERSED = "period-reversed"
_TERM_ERRORS = {
    _REVERSED: "De datum bij ‘Tot en met’ ligt vóór de datum bij ‘Van’. Controleer de periode.",
    TOO_MANY_CASES: f"Dit begin van een zaaknummer past bij meer dan {MAX_MATCHES} zaken. Vul meer tekens "
    "van het zaaknummer in, zodat geen zaak ongemerkt buiten de zoekopdracht valt.",
    TOO_MANY_USERS: f"Dit begin van een gebruikersnaam past bij meer dan {MAX_MATCHES} medewerkers. Vul meer "
    "tekens van de gebruikersnaam in, zodat niemand ongemerkt buiten de zoekopdracht valt.",
}


def _term_error(exc: Exception, default: str = _BAD_TERMS) -> str:
    """The Dutch reason for a refused search term: a reversed period or too many matches by name."""
    return _TERM_ERRORS.get(getattr(exc, "rule", None) or "", default)


@router.get("/zoeken")
def search_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _officer_only(vault, actor, AuditTag.AUDIT_LOG_SEARCHED)
    return page(request, "fg_search.html", actor=actor, **_page_values(result=None, values={}, names={}))


@router.post("/zoeken")
def search(request: Request, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """Search by POST: references, names and dates stay out of URLs and access logs."""
    actor = form.user
    _officer_only(vault, actor, AuditTag.AUDIT_LOG_SEARCHED)
    values = {k: form.text(k, limit=64) for k in _FIELDS}
    try:
        filters, zaak, medewerker = _filters(form)
        after = int(form.text("after_seq", limit=12) or 0)
        with transaction(vault.db) as session:
            filters = _resolve(session, filters, zaak, medewerker)
    except (InvalidInput, ValueError) as exc:
        return page(
            request,
            "fg_search.html",
            actor=actor,
            status_code=400,
            **_page_values(result=None, values=values, names={}, error=_term_error(exc)),
        )
    with transaction(vault.db) as session:
        result = audit_reports.search_log(session, vault, actor.ctx, filters, after_seq=after, limit=_PAGE)
    return page(
        request,
        "fg_search.html",
        actor=actor,
        **_page_values(result=result, values=values, names=_names(vault, result["entries"]), error=None),
    )


@router.get("/medewerker")
def employee_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _officer_only(vault, actor, AuditTag.AUDIT_LOG_SEARCHED)
    return page(request, "fg_employee.html", actor=actor, **_page_values(result=None, values={}, names={}))


@router.post("/medewerker")
def employee(request: Request, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """NEN 7513 §9: what one employee did, oldest first, over a period (printable)."""
    actor = form.user
    _officer_only(vault, actor, AuditTag.AUDIT_LOG_SEARCHED)
    values = {k: form.text(k, limit=64) for k in ("medewerker", "from", "to")}
    refused = None
    try:
        filters, _, medewerker = _filters(form)
        if not medewerker:
            raise InvalidInput("no username")
        with transaction(vault.db) as session:
            ids = user_ids_for_name(session, medewerker, limit=2)
    except (InvalidInput, ValueError) as exc:
        ids, refused = [], _term_error(exc, "")
    if refused or len(ids) != 1:
        error = refused or (
            "Deze gebruikersnaam past bij meer dan één medewerker: vul de hele gebruikersnaam in."
            if len(ids) > 1
            else f"Vul een bestaande gebruikersnaam in en {_DATES}."
        )
        return page(
            request,
            "fg_employee.html",
            actor=actor,
            status_code=400,
            **_page_values(result=None, values=values, names={}, error=error),
        )
    filters = replace(filters, actor_ids=(ids[0],))
    with transaction(vault.db) as session:
        result = audit_reports.search_log(session, vault, actor.ctx, filters, limit=audit_reports.MAX_PAGE)
    names = _names(vault, result["entries"]) or usernames(vault, ids)
    return page(
        request,
        "fg_employee.html",
        actor=actor,
        **_page_values(result=result, values=values, names=names, person=names.get(ids[0], ""), error=None),
    )


_BG_PAGE = 25
_BAD_BG_PAGE = "Deze pagina met noodtoegangen bestaat niet (de link klopt niet); u ziet de eerste pagina."
_ACCESS_NUMBER = re.compile(r"[1-9][0-9]{0,17}")
_STALE = "Deze noodtoegang is niet gevonden. Laad de pagina opnieuw."
_CHANGED = (
    "Uw oordeel is niet vastgelegd: deze noodtoegang is intussen beoordeeld of wat u zag klopt niet meer. "
    "Bekijk hieronder wat er nu staat."
)


def _unreviewed(session: Session, vault: VaultDep, actor: WebActor) -> list[dict[str, Any]]:
    """D20: every unreviewed emergency access, a listing page at a time (each audited): none left out."""
    found: list[dict[str, Any]] = []
    before = None
    while True:
        listed = audit_reports.break_glass_list(
            session, vault, actor.ctx, unreviewed_only=True, before_seq=before, limit=audit_reports.MAX_PAGE
        )
        found += listed["entries"]
        if (before := listed["next_before_seq"]) is None:
            return found


def _bg_url(view: str, cursor: str = "", seq: int | None = None) -> str:
    return f"/fg/noodtoegang?toon={view}" + (f"&{cursor}={seq}" if seq is not None else "")


def _window(session: Session, vault: VaultDep, ctx: Context, pending: list[Any], at: dict[str, Any]) -> Any:
    """One page. "te-beoordelen": the unreviewed accesses oldest first, after access ``na`` (the last of
    the page before). "alle": every access newest first, before ``voor`` (``next_before_seq``)."""
    if at["toon"] == "alle":
        listed = audit_reports.break_glass_list(session, vault, ctx, before_seq=at["voor"], limit=_BG_PAGE)
        older = listed["next_before_seq"]
        return {
            "entries": listed["entries"],
            "next_url": _bg_url("alle", "voor", older) if older else None,
            "prev_url": _bg_url("alle") if at["voor"] else None,
        }
    earlier = [e for e in pending if e["seq"] <= at["na"]]
    later = [e for e in pending if e["seq"] > at["na"]]
    back = earlier[-_BG_PAGE - 1]["seq"] if len(earlier) > _BG_PAGE else None
    return {
        "entries": later[:_BG_PAGE],
        "first": len(earlier) + 1,
        "next_url": _bg_url("te-beoordelen", "na", later[_BG_PAGE - 1]["seq"]) if later[_BG_PAGE:] else None,
        "prev_url": _bg_url("te-beoordelen", "na", back) if earlier else None,
    }


def _break_glass_page(
    request: Request,
    vault: VaultDep,
    actor: WebActor,
    *,
    at: dict[str, Any] | None = None,
    seq: int | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The D20 review list, ``_BG_PAGE`` accesses a page ("nog te beoordelen" first while any is left);
    after a refusal, the form of access ``seq`` carries the error by its field and what was typed."""
    at = {"toon": None, "na": 0, "voor": None, "beoordeeld": None, "fout": "", **(at or {})}
    with transaction(vault.db) as session:
        pending = sorted(_unreviewed(session, vault, actor), key=lambda e: e["seq"])
        at["toon"] = at["toon"] or ("te-beoordelen" if pending and not at["voor"] else "alle")
        window = _window(session, vault, actor.ctx, pending, at)
    entries = window["entries"]
    people = entries + [e["review"] for e in entries if e["review"]]
    return page(
        request,
        "fg_break_glass.html",
        actor=actor,
        at=at,
        remaining=len(pending),
        window=window,
        entries=entries,
        names=usernames(vault, [e.get("actor_id") or e.get("reviewer_id") for e in people]),
        outcomes=list(ReviewOutcome),
        zaakref=reference_of,
        refused_seq=seq,
        errors=errors or {},
        values=values or {},
        status_code=status_code,
    )


def _page_at(query: Mapping[str, str]) -> dict[str, Any]:
    """The page asked for: the view (``toon``), its cursor (``na`` or ``voor``), an access just
    reviewed (``beoordeeld``); ``InvalidInput`` for anything else."""
    numbers = [query.get(name) for name in ("na", "voor", "beoordeeld")]
    if any(n is not None and not _ACCESS_NUMBER.fullmatch(n) for n in numbers):
        raise InvalidInput("not an access number")
    after, before, done = (int(n) if n else None for n in numbers)
    view = query.get("toon") or ("alle" if before else "te-beoordelen" if after else None)
    if not {None: not before, "te-beoordelen": not before, "alle": not after}.get(view, False):
        raise InvalidInput("no such view")
    return {"toon": view, "na": after or 0, "voor": before, "beoordeeld": done}


@router.get("/noodtoegang")
def break_glass(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """D20: every emergency access with its written justification and what it read, a page at a time.
    A view or cursor that is not one is 400 with the reason and the first page (after the role check)."""
    _officer_only(vault, actor, AuditTag.AUDIT_BREAK_GLASS_LISTED)
    try:
        at = _page_at(request.query_params)
    except InvalidInput:
        return _break_glass_page(request, vault, actor, at={"fout": _BAD_BG_PAGE}, status_code=400)
    return _break_glass_page(request, vault, actor, at=at)


@router.post("/noodtoegang")
def review(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    """D20: record the finding on one emergency access (needs a fresh second factor). The form has
    no preset outcome: the privacy officer must choose one."""
    actor = form.user
    _officer_only(vault, actor, AuditTag.AUDIT_BREAK_GLASS_REVIEWED)
    _step_up(vault, actor)
    comment = form.text("comment", limit=audit_reports.MAX_COMMENT + 1)
    seq_text = form.text("seq", limit=12)
    seq = int(seq_text) if seq_text.isascii() and seq_text.isdigit() else None
    outcome_text = form.text("outcome", limit=20)
    outcome = next((o for o in ReviewOutcome if o.value == outcome_text), None)
    errors: dict[str, str] = {}
    if outcome is None:
        errors["outcome"] = "Kies een oordeel."
    if len(comment) > audit_reports.MAX_COMMENT:
        errors["comment"] = "De toelichting is te lang (hoogstens 2000 tekens)."
    last_text = form.text("last_read", limit=20)
    last_read = int(last_text) if last_text.isascii() and last_text.isdigit() else None
    if seq is None:
        errors = {"seq": _STALE}
    elif last_read is None:
        errors["seq"] = _STALE
    if seq is None or last_read is None or errors or outcome is None:
        values = {"comment": comment, "outcome": outcome.value if outcome else ""}
        # The page that starts with this access, so its form shows what was typed and the error.
        at = {"toon": "alle", "voor": seq + 1} if seq is not None else None
        return _break_glass_page(
            request, vault, actor, at=at, seq=seq, errors=errors, values=values, status_code=400
        )
    try:
        with transaction(vault.db) as session:
            audit_reports.review_break_glass(
                session, vault, actor.ctx, seq, outcome, comment or None, through_seq=last_read
            )
    except Conflict:
        values = {"comment": comment, "outcome": outcome.value}
        return _break_glass_page(
            request,
            vault,
            actor,
            at={"toon": "alle", "voor": seq + 1},
            seq=seq,
            errors={"seq": _CHANGED},
            values=values,
            status_code=409,
        )
    return see_other(f"/fg/noodtoegang?toon=alle&voor={seq + 1}&beoordeeld={seq}#bg-{seq}")


def _integrity_page(
    request: Request, vault: VaultDep, actor: WebActor, *, notice: str | None = None, status_code: int = 200
) -> HTMLResponse:
    with transaction(vault.db) as session:
        status = audit_reports.integrity_view(session, vault, actor.ctx)
    return page(
        request, "fg_integrity.html", actor=actor, integrity=status, notice=notice, status_code=status_code
    )


@router.get("/integriteit")
def integrity(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    return _integrity_page(request, vault, actor)


@router.post("/integriteit/controle")
def start_verification(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    """Start a full verification in the background; the integrity page shows its progress."""
    actor = form.user
    try:
        audit_reports.start_full_verification(vault, actor.ctx)
    except Conflict:
        return _integrity_page(
            request, vault, actor, notice="Er loopt al een volledige controle.", status_code=409
        )
    return see_other("/fg/integriteit")


@router.get("/export")
def export_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _officer_only(vault, actor, AuditTag.AUDIT_LOG_EXPORTED)
    _step_up(vault, actor)
    return page(request, "fg_export.html", actor=actor, **_page_values(error=None, values={}))


def _spooled(vault: VaultDep, actor: WebActor, filters: EntryFilter, fmt: ExportFormat) -> Iterator[bytes]:
    """Authorise, export to a sealed spool (memory, then disk as ciphertext only: the export carries
    the break-the-glass justifications, free text that can name people), hand back chunks."""
    with transaction(vault.db) as session:
        audit_reports.authorise_audit(session, vault, actor.ctx, AuditTag.AUDIT_LOG_EXPORTED)
    return sealed_export(
        vault, actor.ctx, filters, fmt, justifications=True, style=DUTCH_CSV, memory=_EXPORT_SPOOL
    )


@router.post("/export")
def export(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    _officer_only(vault, actor, AuditTag.AUDIT_LOG_EXPORTED)
    _step_up(vault, actor)
    try:
        filters, zaak, medewerker = _filters(form)
        fmt = ExportFormat(form.text("format", limit=4) or "csv")
        with transaction(vault.db) as session:
            filters = _resolve(session, filters, zaak, medewerker)
    except (InvalidInput, ValueError) as exc:
        return page(
            request,
            "fg_export.html",
            actor=actor,
            status_code=400,
            **_page_values(error=_term_error(exc), values={k: form.text(k, limit=64) for k in _FIELDS}),
        )
    body = _spooled(vault, actor, filters, fmt)
    stamp = vault.clock.now().astimezone(AMSTERDAM).strftime("%Y%m%d-%H%M")
    media = "text/csv; charset=utf-8" if fmt is ExportFormat.CSV else "application/json"
    return StreamingResponse(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="auditlog-{stamp}.{fmt.value}"',
            "Cache-Control": "no-store",
        },
    )
