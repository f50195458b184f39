"""Upload (script: raw body with progress; without script: a streamed multipart form) and download.

Both go through the gate (``upload_document``; the download as the API's, ``gate.admit_read`` in a
group-commit job), streamed: nothing is held whole in memory and no plaintext touches the disk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from vault.auth import AuthConfig
from vault.domain import Category, reference_of
from vault.errors import AuthFailed, InsufficientStorage, InvalidInput, NotFound, TooLarge
from vault.http.deps import AuthConfigDep, VaultDep
from vault.http.downloads import admitted_response, check_declared_size
from vault.http.params import UUID_PATTERN, CaseId, DocumentId
from vault.http.streaming import SyncBody, decode_header_text
from vault.repositories.access import read_facts_of
from vault.runtime import Vault
from vault.services.authentication import session_token_hash
from vault.services.case_view import CaseView, DocumentEntry
from vault.services.documents import EmptyFile, clean_name, upload_document
from vault.services.gate import AdmittedRead, admit_read
from vault.web.csrf import FIELD, check_origin, check_token, session_token, verified_header
from vault.web.multipart import STAFF_UPLOAD, FieldTooLong, StreamedForm, boundary_of
from vault.web.render import page, see_other
from vault.web.routes.panels import PanelValues
from vault.web.session import (
    LoginRequired,
    SecondFactorRequired,
    WebActor,
    cookie_name,
    login_required,
    page_session,
    refuse_other_sites,
    web_actor_in,
    web_user,
)

router = APIRouter(include_in_schema=False)

# 507: the disk is at the reserve kept for the audit log (docs/security.md "Review findings:
# availability"); vault.js shows the same words after an upload with script.
DISK_FULL_TITLE = "Opslag bijna vol"
DISK_FULL_TEXT = (
    "Het document is niet opgeslagen: de opslag van de dossierkluis is bijna vol. De ruimte die over "
    "is, blijft bewaard zodat iedereen dossiers kan blijven lezen en zich kan aanmelden. Neem contact "
    "op met de beheerder en probeer het later opnieuw."
)


# Not on the upload form: people (subjects), the reporter (their own record, D8) and statements (the
# statement form beside the document they answer, D14).
_NOT_UPLOADED = frozenset({Category.SUBJECTS, Category.REPORTER_IDENTITY, Category.STATEMENT})
_UPLOAD_CATEGORIES = [c for c in Category if c not in _NOT_UPLOADED]


def _by_category(documents: list[DocumentEntry]) -> list[tuple[str, list[DocumentEntry]]]:
    groups: dict[str, list[DocumentEntry]] = defaultdict(list)
    for doc in documents:
        groups[doc.category].append(doc)
    order = [str(c) for c in Category]
    return sorted(groups.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))


def _statements_beside(
    documents: list[DocumentEntry],
) -> tuple[list[DocumentEntry], dict[str, list[DocumentEntry]]]:
    """D14: a statement (zienswijze) is shown under the document it answers, not in a group of its own.

    A statement whose document is not in the list (none named) stays in the list, in its category.
    """
    listed = {d.document_id for d in documents}
    beside: dict[str, list[DocumentEntry]] = defaultdict(list)
    rest: list[DocumentEntry] = []
    for doc in documents:
        answers = doc.refers_to_id if doc.category == Category.STATEMENT else None
        if answers is not None and answers in listed:
            beside[answers].append(doc)
        else:
            rest.append(doc)
    return rest, dict(beside)


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_documents.html``."""
    documents, statements = _statements_beside(view.documents)
    return {
        "documents": _by_category(documents),
        "document_statements": statements,
        "upload_categories": _UPLOAD_CATEGORIES,
        "max_upload": vault.settings.max_upload_bytes,
    }


def _category(value: str) -> Category:
    try:
        category = Category(value)
    except ValueError:
        raise InvalidInput("unknown document category") from None
    if category in _NOT_UPLOADED:
        raise InvalidInput("this category is not a document category")
    return category


# Refusals of the upload form without script, shown beside their field (``document_upload.html``).
TITLE_ERROR = "Een titel is ten hoogste 255 tekens op één regel, zonder tabs of stuurtekens."
FILE_NAME_ERROR = "De naam van het bestand is te lang of bevat stuurtekens; geef het een andere naam."
EMPTY_FILE_ERROR = "Het bestand is leeg. Kies een bestand met inhoud."
UPLOAD_FORM = replace(STAFF_UPLOAD, file_required=False)  # a missing file is said on the field

Refusal = tuple[dict[str, str], int]


def megabytes(limit: int) -> str:
    """A byte limit in MB as people read it: "2048", "0,1"."""
    text = f"{limit / (1024 * 1024):.1f}".replace(".", ",")
    return text.removesuffix(",0")


def too_large_error(vault: Vault) -> str:
    limit = megabytes(vault.settings.max_upload_bytes)
    return f"Het bestand is groter dan {limit} MB. Kies een kleiner bestand."


def declared_too_large(request: Request, vault: Vault) -> bool:
    """``check_declared_size`` as a question: the form answers it beside the file field."""
    try:
        check_declared_size(request, vault)
    except TooLarge:
        return True
    return False


def _upload_form(
    vault: Vault, actor: WebActor, case_id: str, form: StreamedForm, too_large: bool
) -> Refusal | None:
    """Worker thread: the fields first (CSRF token checked before any file byte is read), then the file.
    A refusal the person can fix is returned (field errors, status) so the form comes back with what
    was typed; nothing is stored then."""
    try:
        form.read_fields()
    except FieldTooLong as exc:
        if exc.field != "title":
            raise
        return {"title": TITLE_ERROR}, 400
    check_token(session_token(actor.auth, actor.info.session_id), form.fields.get(FIELD))
    errors: dict[str, str] = {}
    try:
        category = _category(form.fields.get("category", ""))
    except InvalidInput:
        errors["category"] = "Kies een categorie uit de lijst."
    title = form.fields.get("title", "").strip()
    try:
        clean_name(title or "document", "title")
    except InvalidInput:
        errors["title"] = TITLE_ERROR
    if not form.has_file:
        errors["file"] = "Kies een bestand."
    elif too_large:
        # Refused before any byte of the file is read (the body is not drained: it may be gigabytes).
        errors["file"] = too_large_error(vault)
        return errors, 413
    else:
        try:
            clean_name(form.filename or "document", "file name")
        except InvalidInput:
            errors["file"] = FILE_NAME_ERROR
    if errors:
        form.drain()
        return errors, 400
    try:
        upload_document(
            vault,
            actor.ctx,
            case_id=case_id,
            category=category,
            title=title or (form.filename or "document"),
            filename=form.filename or "document",
            content_type=form.content_type,
            chunks=form.file_chunks(),
        )
    except TooLarge:
        # A body without (or with a wrong) Content-Length, stopped while it streamed.
        return {"file": too_large_error(vault)}, 413
    except EmptyFile:
        return {"file": EMPTY_FILE_ERROR}, 400
    return None


def _upload_page(
    request: Request, vault: Vault, actor: WebActor, case_id: str, form: StreamedForm, refusal: Refusal
) -> HTMLResponse:
    errors, status = refusal
    values = {"title": form.fields.get("title", "")[:1000], "category": form.fields.get("category", "")[:50]}
    return page(
        request,
        "document_upload.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        upload_categories=_UPLOAD_CATEGORIES,
        max_upload=vault.settings.max_upload_bytes,
        values=values,
        errors=errors,
        too_large=status == 413,
        status_code=status,
    )


@router.post("/zaken/{case_id}/documenten")
async def upload(case_id: CaseId, request: Request, vault: VaultDep, auth: AuthConfigDep) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        # The form without script: the token is a form field, read (streamed) before the file.
        check_origin(request)
        info = page_session(request, vault, auth)
        actor = web_user(request, vault, auth, info)
        too_large = declared_too_large(request, vault)
        form = StreamedForm(boundary_of(content_type), SyncBody(request.stream()), UPLOAD_FORM)
        try:
            refusal = await anyio.to_thread.run_sync(
                partial(_upload_form, vault, actor, case_id, form, too_large)
            )
        except InsufficientStorage:
            return page(
                request,
                "error.html",
                actor=actor,
                status_code=507,
                title=DISK_FULL_TITLE,
                text=DISK_FULL_TEXT,
                status=507,
            )
        if refusal is not None:
            return _upload_page(request, vault, actor, case_id, form, refusal)
        return see_other(f"/zaken/{case_id}", notice="document-opgeslagen")
    actor = verified_header(request, vault, auth)
    check_declared_size(request, vault)
    stored = await anyio.to_thread.run_sync(
        partial(
            upload_document,
            vault,
            actor.ctx,
            case_id=case_id,
            category=_category(request.headers.get("x-document-category", "")),
            title=decode_header_text(request.headers.get("x-document-title", ""), "X-Document-Title"),
            filename=decode_header_text(
                request.headers.get("x-document-filename", ""), "X-Document-Filename"
            ),
            content_type=content_type or "application/octet-stream",
            chunks=SyncBody(request.stream()),
        )
    )
    return JSONResponse(
        {
            "document_id": stored.document_id,
            "version": stored.version,
            "next": f"/zaken/{case_id}?melding=document-opgeslagen",
        },
        status_code=201,
    )


@router.get("/documenten/{document_id}/inhoud")
async def download(
    document_id: DocumentId,
    request: Request,
    vault: VaultDep,
    auth: AuthConfigDep,
    verstrekking: Annotated[str | None, Query(pattern=UUID_PATTERN, max_length=36)] = None,
) -> Response:
    """Download through the gate; a partner names the disclosure (grant) it retrieves under. The
    session check, the decision and the audit entry are one job of the group-commit writer, as the
    API's download (``vault.api.documents.download``)."""
    refuse_other_sites(request)
    token = request.cookies.get(cookie_name(vault))
    if not token:
        raise LoginRequired()

    def admit(session: Session, actor: WebActor, row: Any) -> AdmittedRead | None:
        facts = read_facts_of(actor.ctx, row)
        return admit_read(session, vault, actor.ctx, document_id, grant_id=verstrekking, read_facts=facts)

    return await admitted_download(request, vault, auth, token, document_id, admit)


async def admitted_download(
    request: Request,
    vault: Vault,
    auth: AuthConfig,
    token: str,
    document_id: str,
    admit: Callable[[Session, WebActor, Any], AdmittedRead | None],
) -> Response:
    """One web read of ``document_id``: the session check (``web_actor_in``, with the gate's facts of
    the document in the same statement) and ``admit`` (``gate.admit_read``) in one job of the
    group-commit writer, then the bytes (``admitted_response``). A session without its second factor
    decides and reads nothing (D17: the page for the code); ``admit`` answering None read nothing and
    is a 404."""
    try:
        token_hash = session_token_hash(auth, token)
    except AuthFailed as exc:
        raise login_required(exc) from None
    actors: list[WebActor] = []

    def job(session: Session) -> AdmittedRead | None:
        actor, row = web_actor_in(session, request, vault, auth, token_hash, document_id)
        actors[:] = [actor]
        if not actor.info.second_factor_verified:
            return None  # D17: nothing decided or read; the page for the second factor
        return admit(session, actor, row)

    try:
        admitted = await vault.group.run_async(job)
    except AuthFailed as exc:
        if not actors:  # the session, not the gate, refused
            raise login_required(exc) from None
        raise
    finally:
        if actors:
            request.state.web_actor = actors[0]  # the error page shows the menu of the logged-in user
    if admitted is None:
        if actors and actors[0].info.second_factor_verified:
            raise NotFound("no such document in this case")
        raise SecondFactorRequired()
    return await admitted_response(vault, actors[0].ctx, admitted)
