"""The privacy officer (FG): audit search, per-case access report (D15), break-the-glass review (D20),
integrity status and export. Log data only — the FG never opens case content (the gate refuses)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from vault.api.deps import VaultDep
from vault.api.documents import CaseId
from vault.audit.export import ExportFormat, export_entries
from vault.domain import AuditTag, Decision
from vault.errors import InvalidInput, StepUpRequired
from vault.repositories.audit import EntryFilter
from vault.services import audit_reports
from vault.services.audit_reports import ReviewOutcome
from vault.services.directory import usernames
from vault.services.transaction import transaction
from vault.web.csrf import VerifiedForm, WebForm
from vault.web.labels import AMSTERDAM
from vault.web.render import page, see_other
from vault.web.session import WebActor, WebUser

router = APIRouter(prefix="/fg", include_in_schema=False)

_PAGE = 50
_EXPORT_SPOOL = 8 * 1024 * 1024


def _step_up(vault: VaultDep, actor: WebActor) -> None:
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("this action needs a recent second-factor check")


@router.get("")
def overview(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    with transaction(vault.db) as session:
        integrity = audit_reports.integrity_view(session, vault, actor.ctx)
        pending = audit_reports.break_glass_list(session, vault, actor.ctx, unreviewed_only=True, limit=100)
    return page(request, "fg_overview.html", actor=actor, integrity=integrity, pending=pending["entries"])


def _day_start(value: str) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("not a date") from None
    return datetime.combine(day, time(0), tzinfo=AMSTERDAM)


def _filters(form: WebForm | None) -> EntryFilter:
    if form is None:
        return EntryFilter()
    until = _day_start(form.text("to", limit=10))
    decision = form.text("decision", limit=8)
    flag = form.text("break_glass", limit=5)
    return EntryFilter(
        case_id=form.text("case_id", limit=64) or None,
        actor_id=form.text("actor_id", limit=64) or None,
        tag=form.text("tag", limit=64) or None,
        since=_day_start(form.text("from", limit=10)),
        until=until + timedelta(days=1) if until else None,  # "to" is inclusive on the page
        break_glass=True if flag == "ja" else None,
        decision=decision if decision in {d.value for d in Decision} else None,
    )


def _names(vault: VaultDep, entries: list[dict[str, Any]]) -> dict[str, str]:
    return usernames(vault, [e.get("actor_id") for e in entries])


@router.get("/zoeken")
def search_form(request: Request, actor: WebUser) -> HTMLResponse:
    return page(request, "fg_search.html", actor=actor, result=None, values={}, names={})


@router.post("/zoeken")
def search(request: Request, vault: VaultDep, form: VerifiedForm) -> HTMLResponse:
    """Search by POST: ids and dates stay out of URLs and access logs."""
    actor = form.user
    try:
        filters = _filters(form)
        after = int(form.text("after_seq", limit=12) or 0)
    except (InvalidInput, ValueError):
        return page(
            request,
            "fg_search.html",
            actor=actor,
            result=None,
            values={},
            names={},
            error="Controleer de datums.",
            status_code=400,
        )
    with transaction(vault.db) as session:
        result = audit_reports.search_log(session, vault, actor.ctx, filters, after_seq=after, limit=_PAGE)
    values = {
        k: form.text(k, limit=64)
        for k in ("case_id", "actor_id", "tag", "from", "to", "decision", "break_glass")
    }
    return page(
        request,
        "fg_search.html",
        actor=actor,
        result=result,
        values=values,
        names=_names(vault, result["entries"]),
        error=None,
    )


@router.get("/toegang")
def access_form(request: Request, actor: WebUser) -> HTMLResponse:
    return page(request, "fg_access_form.html", actor=actor, error=None)


@router.post("/toegang")
def access_choose(request: Request, form: VerifiedForm) -> Response:
    case_id = form.text("case_id", limit=64).lower()
    if len(case_id) != 36:
        return page(
            request,
            "fg_access_form.html",
            actor=form.user,
            status_code=400,
            error="Vul een zaaknummer in (36 tekens, zoals het in de zaak staat).",
        )
    return see_other(f"/fg/toegang/{case_id}")


@router.get("/toegang/{case_id}")
def access_report(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """D15: who accessed this case — name, role, organisation — when, what, on which ground."""
    with transaction(vault.db) as session:
        report = audit_reports.case_access_report(session, vault, actor.ctx, case_id)
    return page(request, "fg_access.html", actor=actor, report=report)


@router.get("/noodtoegang")
def break_glass(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    with transaction(vault.db) as session:
        listed = audit_reports.break_glass_list(session, vault, actor.ctx, limit=100)
    entries = listed["entries"]
    return page(
        request,
        "fg_break_glass.html",
        actor=actor,
        entries=entries,
        names=_names(vault, entries),
        outcomes=list(ReviewOutcome),
    )


@router.post("/noodtoegang")
def review(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    """D20: record the finding on one break-the-glass access (needs a fresh second factor)."""
    actor = form.user
    _step_up(vault, actor)
    try:
        seq = int(form.text("seq", limit=12))
        outcome = ReviewOutcome(form.text("outcome", limit=20))
    except ValueError:
        raise InvalidInput("choose an outcome") from None
    with transaction(vault.db) as session:
        audit_reports.review_break_glass(session, vault, actor.ctx, seq, outcome)
    return see_other("/fg/noodtoegang")


@router.get("/integriteit")
def integrity(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    with transaction(vault.db) as session:
        status = audit_reports.integrity_view(session, vault, actor.ctx)
    return page(request, "fg_integrity.html", actor=actor, integrity=status)


@router.get("/export")
def export_form(request: Request, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    _step_up(vault, actor)
    return page(request, "fg_export.html", actor=actor, error=None)


def _spooled(vault: VaultDep, actor: WebActor, filters: EntryFilter, fmt: ExportFormat) -> Iterator[bytes]:
    """Authorise, export to a spool (memory, then disk — log data holds ids only), hand back chunks."""
    with transaction(vault.db) as session:
        audit_reports.authorise_audit(session, vault, actor.ctx, AuditTag.AUDIT_LOG_EXPORTED)
    spool = tempfile.SpooledTemporaryFile(max_size=_EXPORT_SPOOL, mode="w+", encoding="utf-8")  # noqa: SIM115
    export_entries(vault, actor.ctx, filters, fmt, spool)  # type: ignore[arg-type]
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(256 * 1024):
                yield block.encode("utf-8")

    return chunks()


@router.post("/export")
def export(request: Request, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    _step_up(vault, actor)
    try:
        filters = _filters(form)
        fmt = ExportFormat(form.text("format", limit=4) or "csv")
    except (InvalidInput, ValueError):
        return page(request, "fg_export.html", actor=actor, error="Controleer de datums.", status_code=400)
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
