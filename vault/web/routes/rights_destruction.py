"""Subjects' rights in the browser, part two: a destruction request to its decision, the destruction
and the certificate (D11, D12); a subject's statement (zienswijze) beside a document (D14).

The decision and the destruction are ``destruction.decide_destruction_request`` (team leader of the
case, recent step-up, both checked by the service): granting destroys at once, so the page asks first
on a confirmation page that says it cannot be undone.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from vault import labels
from vault.domain import Action, Category, reference_of
from vault.errors import Conflict, InvalidInput, NotFound, StepUpRequired, TooLarge
from vault.http.deps import AuthConfigDep, VaultDep
from vault.http.downloads import download_headers
from vault.http.params import UUID_PATTERN, CaseId, DocumentId
from vault.http.streaming import SyncBody
from vault.runtime import Vault
from vault.services import destruction, request_views
from vault.services.calendar import local_date
from vault.services.case_view import DocumentEntry, view_case
from vault.services.documents import clean_name
from vault.services.gate import GateRequest, would_allow
from vault.services.legal_hold import LEGAL_HOLD, hold_on
from vault.services.pdf import certificate_pdf as certificate_pdf_of
from vault.services.request_views import DestructionRequestView
from vault.services.rights import add_statement
from vault.web.csrf import FIELD, VerifiedForm, check_origin, check_token, session_token
from vault.web.multipart import FieldTooLong, FormLimits, StreamedForm, boundary_of, bytes_for
from vault.web.render import page, see_other
from vault.web.routes.documents import (
    FILE_NAME_ERROR,
    TITLE_ERROR,
    Refusal,
    declared_too_large,
    too_large_error,
)
from vault.web.routes.rights import iso_day, received_on
from vault.web.session import WebActor, WebUser, page_session, web_user

router = APIRouter(include_in_schema=False)

RequestId = Annotated[str, Path(pattern=UUID_PATTERN, max_length=36)]
STATEMENT_MAX = 20_000  # characters of a typed statement (the textarea's maxlength)
# Byte bounds generous enough for the character limits (``bytes_for``): the form checks those itself.
_STATEMENT_FORM = FormLimits(
    max_fields=6,
    max_field_bytes=bytes_for(STATEMENT_MAX),
    max_fields_total=bytes_for(STATEMENT_MAX) + 8 * 1024,
    file_required=False,
)
_TITLE_ERROR = TITLE_ERROR
_TEXT_TOO_LONG = (
    "De zienswijze is te lang: ten hoogste 20.000 tekens. Maak de tekst korter of kies een bestand."
)
# --- Recording a destruction request -----------------------------------------------------------------


def _request_form(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    earlier = request_views.case_requests(vault, actor.ctx, case_id).destruction
    return page(
        request,
        "rights_destruction_new.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        pending=[r for r in earlier if r.status == "pending"],
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/vernietigingsverzoek")
def destruction_request_form(
    request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    return _request_form(request, vault, actor, case_id)


@router.post("/zaken/{case_id}/vernietigingsverzoek")
def record_destruction_request(
    request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm
) -> Response:
    actor = form.user
    values = {"received_on": form.text("received_on", limit=20)}
    day, problem = received_on(values["received_on"], local_date(actor.ctx.now()))  # the Dutch day
    if problem or day is None:
        errors = {"received_on": problem or ""}
        return _request_form(request, vault, actor, case_id, values=values, errors=errors, status_code=400)
    request_id = destruction.record_destruction_request(vault, actor.ctx, case_id, received_on=day)
    return see_other(f"/vernietigingsverzoeken/{request_id}", notice="vernietigingsverzoek-vastgelegd")


# --- The decision ------------------------------------------------------------------------------------


def hold_text(until: datetime) -> str:
    """D12: why a held case is not destroyed on request (``legal_hold``), in the page's words."""
    return (
        "Deze zaak wordt bewaard voor een juridische procedure of wettelijke plicht tot "
        f"{labels.dutch_date(until)}. Vernietigen kan pas als die bewaarplicht is afgelopen; weiger het "
        "verzoek met die reden."
    )


def _decision_page(
    request: Request,
    vault: Vault,
    actor: WebActor,
    request_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    view: DestructionRequestView | None = None,
) -> HTMLResponse:
    """``view``: the request as the caller read it already (one audited read per page)."""
    view = view or request_views.read_destruction_request(vault, actor.ctx, request_id)
    # A preview only (no audit, no key): the service decides again when the form is sent.
    may_decide = view.status == "pending" and would_allow(
        vault, actor.ctx, GateRequest(view.case_id, Action.ADMINISTER)
    )
    until = hold_on(vault, view.case_id, actor.ctx.now()) if may_decide else None
    return page(
        request,
        "rights_destruction.html",
        actor=actor,
        req=view,
        reference=reference_of(view.case_id),
        may_decide=may_decide,
        hold=hold_text(until) if until else None,
        reasons=labels.REFUSAL_REASONS,
        values=values or {},
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/vernietigingsverzoeken/{request_id}")
def destruction_request_page(
    request: Request, request_id: RequestId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    return _decision_page(request, vault, actor, request_id)


@router.post("/vernietigingsverzoeken/{request_id}")
def decide(request: Request, request_id: RequestId, vault: VaultDep, form: VerifiedForm) -> Response:
    """Grant: on to the confirmation page (nothing is decided yet). Refuse: a reason from the list and
    an explanation, then the decision (step-up, checked by the service)."""
    actor = form.user
    values = {
        "decision": form.text("decision", limit=16),
        "refusal_reason": form.text("refusal_reason", limit=64),
        "refusal_note": form.text("refusal_note", limit=2001),
    }
    errors: dict[str, str] = {}
    if values["decision"] == "grant":
        if held := _held(request, vault, actor, _read(vault, actor, request_id)):
            return held
        return see_other(f"/vernietigingsverzoeken/{request_id}/vernietigen")
    if values["decision"] != "refuse":
        errors["decision"] = "Kies of u het verzoek toewijst of afwijst."
    else:
        if values["refusal_reason"] not in labels.REFUSAL_REASONS:
            errors["refusal_reason"] = "Kies de reden van de afwijzing uit de lijst."
        if not values["refusal_note"]:
            errors["refusal_note"] = "Licht de afwijzing toe; de verzoeker heeft recht op de reden."
        elif len(values["refusal_note"]) > 2000:
            errors["refusal_note"] = "De toelichting is te lang (ten hoogste 2000 tekens)."
    if errors:
        return _decision_page(
            request, vault, actor, request_id, values=values, errors=errors, status_code=400
        )
    destruction.decide_destruction_request(
        vault,
        actor.ctx,
        request_id,
        grant=False,
        refusal_reason=destruction.RefusalReason(values["refusal_reason"]),
        refusal_note=values["refusal_note"],
    )
    return see_other(f"/vernietigingsverzoeken/{request_id}", notice="vernietigingsverzoek-afgewezen")


def _held(
    request: Request, vault: Vault, actor: WebActor, view: DestructionRequestView
) -> HTMLResponse | None:
    """D12: while a legal hold keeps the case, the decision form again (409) saying why, to whom may
    decide; else None (the service answers anyone else as it does). ``view``: read through the gate."""
    admin = GateRequest(view.case_id, Action.ADMINISTER)
    if view.status != "pending" or not would_allow(vault, actor.ctx, admin):
        return None
    until = hold_on(vault, view.case_id, actor.ctx.now())
    if until is None:
        return None
    values, errors = {"decision": "refuse"}, {"decision": hold_text(until)}
    return _decision_page(
        request, vault, actor, view.id, values=values, errors=errors, status_code=409, view=view
    )


def _read(vault: Vault, actor: WebActor, request_id: str) -> DestructionRequestView:
    return request_views.read_destruction_request(vault, actor.ctx, request_id)


def _require_step_up(vault: Vault, actor: WebActor) -> None:
    if not actor.ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("destroying a case needs a recent second-factor check")


@router.get("/vernietigingsverzoeken/{request_id}/vernietigen")
def destroy_confirm(request: Request, request_id: RequestId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    """Ask before granting: the destruction that follows cannot be undone."""
    _require_step_up(vault, actor)
    view = _read(vault, actor, request_id)
    if held := _held(request, vault, actor, view):
        return held
    return page(request, "rights_destroy.html", actor=actor, req=view, reference=reference_of(view.case_id))


@router.post("/vernietigingsverzoeken/{request_id}/vernietigen")
def destroy(request: Request, request_id: RequestId, vault: VaultDep, form: VerifiedForm) -> Response:
    """Grant the request: the case's key is erased, its content removed, a certificate signed. Under
    a legal hold the service refuses (audited): the decision form again, saying why."""
    actor = form.user
    _require_step_up(vault, actor)
    try:
        outcome = destruction.decide_destruction_request(vault, actor.ctx, request_id, grant=True)
    except Conflict as exc:
        held = (
            _held(request, vault, actor, _read(vault, actor, request_id)) if exc.rule == LEGAL_HOLD else None
        )
        if held is None:
            raise
        return held
    assert outcome.certificate is not None
    return see_other(
        f"/zaken/{outcome.certificate.case_id}/vernietigingsverklaring", notice="zaak-vernietigd"
    )


# --- The certificate ---------------------------------------------------------------------------------


@router.get("/zaken/{case_id}/vernietigingsverklaring")
def certificate(request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser) -> HTMLResponse:
    cert = destruction.read_certificate(vault, actor.ctx, case_id)
    body: dict[str, Any] = json.loads(cert.body)
    return page(
        request,
        "rights_certificate.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        body=body,
        reason=labels.CERTIFICATE_REASONS.get(str(body.get("reason")), "Vernietiging"),
        signature_valid=destruction.verify_certificate(vault, cert),
        backups_from=iso_day(body.get("backups_unreadable_from")),
    )


@router.get("/zaken/{case_id}/vernietigingsverklaring.pdf")
def certificate_pdf(case_id: CaseId, vault: VaultDep, actor: WebUser) -> Response:
    cert = destruction.read_certificate(vault, actor.ctx, case_id)
    return Response(
        certificate_pdf_of(cert),
        media_type="application/pdf",
        headers=download_headers(f"vernietigingsverklaring-{reference_of(case_id)}.pdf"),
    )


# --- A statement (zienswijze, D14) -----------------------------------------------------------------


def _answered(vault: Vault, actor: WebActor, case_id: str, document_id: str) -> DocumentEntry:
    """The document the statement answers, as the case view shows it (an audited read)."""
    view = view_case(vault, actor.ctx, case_id)
    for doc in view.documents:
        if doc.document_id == document_id and doc.title is not None:
            if doc.category == Category.STATEMENT:
                raise InvalidInput("a statement answers a document, not another statement")
            return doc
    raise NotFound("no such document in this case")


def _statement_form(
    request: Request,
    vault: Vault,
    actor: WebActor,
    case_id: str,
    document_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "rights_statement.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        document=_answered(vault, actor, case_id, document_id),
        values=values or {"title": "Zienswijze"},
        errors=errors or {},
        too_large=status_code == 413,
        status_code=status_code,
    )


@router.get("/zaken/{case_id}/documenten/{document_id}/zienswijze")
def statement_form(
    request: Request, case_id: CaseId, document_id: DocumentId, vault: VaultDep, actor: WebUser
) -> HTMLResponse:
    return _statement_form(request, vault, actor, case_id, document_id)


def _store_statement(
    vault: Vault, actor: WebActor, case_id: str, document_id: str, form: StreamedForm, too_large: bool
) -> Refusal | None:
    """Worker thread: the fields (CSRF token first), then the file or the typed text; the errors and
    the status to answer them with."""
    try:
        form.read_fields()
    except FieldTooLong as exc:
        if exc.field not in {"title", "text"}:
            raise
        return {exc.field: _TITLE_ERROR if exc.field == "title" else _TEXT_TOO_LONG}, 400
    check_token(session_token(actor.auth, actor.info.session_id), form.fields.get(FIELD))
    # A browser sends each line break as CRLF; ``maxlength`` (and this check) count it as one.
    text = form.fields.get("text", "").replace("\r\n", "\n").strip()
    try:
        title = clean_name(form.fields.get("title", "").strip() or "Zienswijze", "title")
    except InvalidInput:
        form.drain()
        return {"title": _TITLE_ERROR}, 400
    if len(text) > STATEMENT_MAX:
        form.drain()
        return {"text": _TEXT_TOO_LONG}, 400
    if form.has_file:
        try:
            clean_name(form.filename or "zienswijze", "file name")
        except InvalidInput:
            form.drain()
            return {"file": FILE_NAME_ERROR}, 400
    if form.has_file and text:
        form.drain()
        return {"text": "Typ de zienswijze óf kies een bestand, niet allebei."}, 400
    if not form.has_file and not text:
        form.drain()
        return {"text": "Typ de zienswijze van de betrokkene of kies een bestand."}, 400
    if form.has_file and too_large:
        # Refused before any byte of the file is read (not drained: it may be gigabytes).
        return {"file": too_large_error(vault)}, 413
    if form.has_file:
        chunks: Any = form.file_chunks()
        filename, content_type = form.filename or "zienswijze", form.content_type
    else:
        form.drain()
        chunks, filename, content_type = [text.encode()], "zienswijze.txt", "text/plain; charset=utf-8"
    try:
        add_statement(
            vault,
            actor.ctx,
            case_id=case_id,
            refers_to_document_id=document_id,
            title=title,
            filename=filename,
            content_type=content_type,
            chunks=chunks,
        )
    except TooLarge:
        return {"file": too_large_error(vault)}, 413
    return None


@router.post("/zaken/{case_id}/documenten/{document_id}/zienswijze")
async def add_statement_page(
    case_id: CaseId, document_id: DocumentId, request: Request, vault: VaultDep, auth: AuthConfigDep
) -> Response:
    """D14: a multipart form (fields first, then an optional file), streamed as the upload is."""
    check_origin(request)
    info = page_session(request, vault, auth)
    actor = web_user(request, vault, auth, info)
    too_large = declared_too_large(request, vault)
    form = StreamedForm(
        boundary_of(request.headers.get("content-type", "")), SyncBody(request.stream()), _STATEMENT_FORM
    )
    refusal = await anyio.to_thread.run_sync(
        partial(_store_statement, vault, actor, case_id, document_id, form, too_large)
    )
    if refusal:
        errors, status = refusal
        values = {"title": form.fields.get("title", "")[:1000], "text": form.fields.get("text", "")}
        return await anyio.to_thread.run_sync(
            partial(
                _statement_form,
                request,
                vault,
                actor,
                case_id,
                document_id,
                values=values,
                errors=errors,
                status_code=status,
            )
        )
    return see_other(f"/zaken/{case_id}#documenten", notice="zienswijze-toegevoegd")
