"""Public pages: "Melding doen" and "Advies vragen", for professionals and for citizens. No account.

Every public response sends ``Cache-Control: no-store``, ``Referrer-Policy: no-referrer`` and a
strict Content-Security-Policy (own scripts and styles only, no third party), and sets no cookie.
The form is sent by the page's script (which computes the proof of work) and answered with JSON:
a reference number, or a Dutch explanation of what to do. Nothing the person wrote is echoed.

Anonymous bodies never take the worker threads staff pages need: the form's fields are read on the
event loop, each chunk within ``BODY_IDLE_SECONDS`` and the whole body by ``BODY_DEADLINE_SECONDS``
(else 408, nothing stored); the sync work then runs on the public forms' own small thread limiters,
one for the fields and the case, one for attachments, so a trickling attachment cannot hold up a
report either. The form thread only parses what was read ahead: everything but a named attachment
must end within it, so no client can hold a form thread by stalling (docs/intake.md "Slow and stalled
bodies").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio.to_thread
import structlog
from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.requests import ClientDisconnect

from vault.errors import Forbidden, InvalidInput, Unavailable
from vault.http.deps import VaultDep, client_address
from vault.http.streaming import BodyTimedOut, SyncBody
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.directory import shows_demo_mark
from vault.services.documents import without_controls
from vault.services.intake import (
    AlreadyReceived,
    Attachment,
    IntakeForgetting,
    IntakeForm,
    IntakeRefused,
    Receipt,
    admit,
    new_challenge,
    public_context,
    receive,
    receive_attachment,
)
from vault.web.csrf import check_origin
from vault.web.multipart import PUBLIC_FORM, FieldTooLong, FormTooLarge, StreamedForm, boundary_of
from vault.web.public import fields as f
from vault.web.public.messages import MESSAGES, PHONE, SERVICE_PROBLEM
from vault.web.render import TEMPLATES

__all__ = [
    "ATTACHMENT_THREADS",
    "BODY_DEADLINE_SECONDS",
    "BODY_IDLE_SECONDS",
    "FORM_THREADS",
    "PHONE",
    "PUBLIC_HEADERS",
    "SERVICE_PROBLEM",
    "router",
]

log = structlog.get_logger(__name__)


@asynccontextmanager
async def _forgetting(app: FastAPI) -> AsyncIterator[None]:
    """The form's rate and replay rows go after their hour, also when nobody submits (D8)."""
    task = IntakeForgetting(app.state.vault)
    task.start()
    try:
        yield
    finally:
        task.stop()


router = APIRouter(include_in_schema=False, lifespan=_forgetting)

PUBLIC_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Robots-Tag": "noindex",
}

# A person on a poor mobile link still sends 10 MiB well within the deadline; a client that sends
# nothing for the idle timeout has stalled (or is holding the connection on purpose).
BODY_IDLE_SECONDS = 30.0
BODY_DEADLINE_SECONDS = 600.0
# Worker threads of the public forms, apart from anyio's shared 40 that every sync staff route uses.
FORM_THREADS = 6
ATTACHMENT_THREADS = 4
# Read on the event loop before any thread is taken: every text field (128 KiB together) with room
# for the parts' headers; the attachment, last in the form, streams from a thread. Whatever is not
# that attachment must end within these bytes (``StreamedForm.read_fields(within=…)``), so the form
# thread parses only what is here and never waits for the client.
_PREFETCH_BYTES = 256 * 1024
_LIMITERS: dict[str, RunVar[CapacityLimiter]] = {
    "form": RunVar("vault_public_form_threads"),
    "attachment": RunVar("vault_public_attachment_threads"),
}
_LIMITS = {"form": FORM_THREADS, "attachment": ATTACHMENT_THREADS}

_FORMS: dict[tuple[str, str], IntakeForm] = {
    ("melden", "professional"): IntakeForm.REPORT_PROFESSIONAL,
    ("melden", "burger"): IntakeForm.REPORT_CITIZEN,
    ("advies", "professional"): IntakeForm.ADVICE_PROFESSIONAL,
    ("advies", "burger"): IntakeForm.ADVICE_CITIZEN,
}
_TITLES = {"melden": "Melding doen", "advies": "Advies vragen"}
_TOO_MANY = frozenset({"rate_limited", "pow_harder"})


def _html(request: Request, vault: Vault, template: str, **values: Any) -> HTMLResponse:
    context = {"quick_exit_url": vault.settings.quick_exit_url, "phone": PHONE, **values}
    context["demo"] = shows_demo_mark(vault)  # `vault demo`: say that nothing sent here arrives
    return TEMPLATES.TemplateResponse(request, template, context, headers=PUBLIC_HEADERS)


# The paths of the public forms: an error on any of them (an unknown address under ``/melden``, another
# method) is answered in the public layout, with the quick exit (``web.errors``), never the staff one.
PUBLIC_PATHS = ("/melden", "/advies", "/wis-geschiedenis", "/formulier")


def is_public_path(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(tuple(f"{p}/" for p in PUBLIC_PATHS))


_PUBLIC_ERRORS = {
    404: ("Deze pagina bestaat niet", "Het adres klopt niet, of de pagina is verplaatst."),
    405: ("Deze pagina bestaat niet", "Het adres klopt niet, of de pagina is verplaatst."),
    429: ("Even geduld", "Er zijn te veel verzoeken gedaan. Probeer het over een paar minuten opnieuw."),
}
_PUBLIC_ERROR = ("Dit lukte niet", "Er ging iets mis. Probeer het over een paar minuten opnieuw.")


def public_error_page(request: Request, status: int) -> HTMLResponse:
    """An error of a public path in the public layout: the quick exit, the phone number, no staff menu
    and no word of the staff's pages."""
    vault: Vault = request.app.state.vault
    area = "advies" if request.url.path.startswith("/advies") else "melden"
    title, text = _PUBLIC_ERRORS.get(status, _PUBLIC_ERROR)
    page = _html(request, vault, "public/error.html", area=area, title=title, text=text)
    page.status_code = status
    return page


def _json(body: dict[str, Any], status: int, retry_after: int | None = None) -> JSONResponse:
    headers = PUBLIC_HEADERS if retry_after is None else {**PUBLIC_HEADERS, "Retry-After": str(retry_after)}
    return JSONResponse(body, status_code=status, headers=headers)


def _minutes(seconds: int) -> str:
    """The wait in whole minutes, rounded up, in Dutch ("1 minuut", "42 minuten")."""
    minutes = max(1, -(-seconds // 60))
    return "1 minuut" if minutes == 1 else f"{minutes} minuten"


def _received_before(already: AlreadyReceived, with_file: bool) -> JSONResponse:
    """D5: this form's proof opened a case already (the answer to the first send was lost): the
    reference of that case, and that nothing was stored twice (200; nothing written). Sent again with an
    attachment the first send did not deliver (its upload was cut off): said, so the person calls."""
    log.info("intake_sent_again")
    lost = with_file and not already.attachment
    body = {
        "ok": True,
        "reference": already.reference,
        "again": True,
        "attachment": already.attachment,
        "message": MESSAGES["pow_received_no_attachment" if lost else "pow_received"],
    }
    return _json(body, 200)


def _refused(
    reason: str,
    status: int,
    vault: Vault,
    problems: list[str] | None = None,
    fields: list[str | None] | None = None,
    retry_after: int | None = None,
) -> JSONResponse:
    """The refusal the page's script shows: a Dutch message and, when the answers need fixing, the
    problems (each names a field, never a value) with, for each, the id of its field (or null), so the
    script marks the field and links the problem to it. ``retry_after`` (seconds until the sender's
    next submission is admitted) becomes ``Retry-After`` and the minutes the message names."""
    limit = vault.settings.intake_max_bytes // (1024 * 1024) or 1
    log.info("intake_refused", reason=reason)
    problems = problems or []
    wait = _minutes(retry_after or 3600)
    return _json(
        {
            "ok": False,
            "reason": reason,
            "message": MESSAGES["check_answers" if problems else reason].format(limit=limit, wait=wait),
            "problems": problems,
            "fields": fields if fields is not None else [None for _ in problems],
        },
        status,
        retry_after,
    )


def _form_refused(problem: f.FormProblem, vault: Vault) -> JSONResponse:
    return _refused("invalid", 400, vault, problem.problems, problem.fields)


@router.get("/melden", response_class=HTMLResponse)
def report_start(request: Request, vault: VaultDep) -> HTMLResponse:
    return _html(request, vault, "public/choose.html", area="melden", title=_TITLES["melden"])


@router.get("/advies", response_class=HTMLResponse)
def advice_start(request: Request, vault: VaultDep) -> HTMLResponse:
    return _html(request, vault, "public/choose.html", area="advies", title=_TITLES["advies"])


@router.get("/wis-geschiedenis", response_class=HTMLResponse)
def clear_history_help(request: Request, vault: VaultDep) -> HTMLResponse:
    """How to remove these pages from the browser's history, per common browser (the quick exit cannot)."""
    return _html(request, vault, "public/history.html", area="", title="Wis geschiedenis")


@router.get("/formulier/uitdaging")
def challenge(request: Request, vault: VaultDep) -> JSONResponse:
    """A fresh proof-of-work challenge, as hard as this address's next submission must be (the page
    asks again after a refusal). Stores nothing. When it cannot be made: the form's JSON refusal."""
    try:
        issued = new_challenge(vault, client_address(request))
    except Exception as exc:  # noqa: BLE001 — the script reads JSON only; the person must learn to call
        log.error("intake_challenge_failed", error=type(exc).__name__)
        return _refused("unavailable", 503 if isinstance(exc, Unavailable) else 500, vault)
    return _json({"challenge": issued.token, "bits": issued.bits}, 200)


def _form_page(request: Request, vault: Vault, area: str, who: str) -> HTMLResponse:
    """The form; when its challenge cannot be made (the database is unavailable), a public page in
    the same layout — the quick exit, "Wis geschiedenis", 0800-2000 and 112 — never the staff pages'
    error page (session 16, P2)."""
    form = _FORMS[(area, who)]
    try:
        issued = new_challenge(vault, client_address(request))
    except Exception as exc:  # noqa: BLE001 — a person in danger keeps the way out and the number
        log.error("intake_form_unavailable", error=type(exc).__name__)
        page = _html(request, vault, "public/unavailable.html", area=area, title=_TITLES[area])
        page.status_code = 503 if isinstance(exc, Unavailable) else 500
        return page
    return _html(
        request,
        vault,
        "public/form.html",
        area=area,
        who=who,
        form=form,
        title=_TITLES[area],
        challenge=issued.token,
        bits=issued.bits,
        max_bytes=vault.settings.intake_max_bytes,
        max_mb=vault.settings.intake_max_bytes // (1024 * 1024) or 1,
        f=f,
    )


@router.get("/melden/professional", response_class=HTMLResponse)
def report_professional(request: Request, vault: VaultDep) -> HTMLResponse:
    return _form_page(request, vault, "melden", "professional")


@router.get("/melden/burger", response_class=HTMLResponse)
def report_citizen(request: Request, vault: VaultDep) -> HTMLResponse:
    return _form_page(request, vault, "melden", "burger")


@router.get("/advies/professional", response_class=HTMLResponse)
def advice_professional(request: Request, vault: VaultDep) -> HTMLResponse:
    return _form_page(request, vault, "advies", "professional")


@router.get("/advies/burger", response_class=HTMLResponse)
def advice_citizen(request: Request, vault: VaultDep) -> HTMLResponse:
    return _form_page(request, vault, "advies", "burger")


def _limiter(kind: str) -> CapacityLimiter:
    """The public forms' own thread limiter of this event loop (``kind``: form or attachment)."""
    try:
        return _LIMITERS[kind].get()
    except LookupError:
        limiter = CapacityLimiter(_LIMITS[kind])
        _LIMITERS[kind].set(limiter)
        return limiter


def _handle(
    vault: Vault, form: IntakeForm, body: StreamedForm, address: str | None, request_id: str
) -> JSONResponse | Receipt:
    """Worker thread: every answer is the JSON the page's script reads, never the generic HTML page;
    a ``Receipt`` when the case is committed and its attachment is still to be read.

    ``_receive`` stores nothing before the body is read and checked; so a failure that reaches here
    stored nothing.
    """
    try:
        return _receive(vault, form, body, address, request_id)
    except Exception as exc:  # noqa: BLE001 — the script shows only JSON; the person must learn to call
        log.error("intake_failed", error=type(exc).__name__)
        return _refused("unavailable", 503 if isinstance(exc, Unavailable) else 500, vault)


def _receive(
    vault: Vault, form: IntakeForm, body: StreamedForm, address: str | None, request_id: str
) -> JSONResponse | Receipt:
    """Fields, admission (limits, honeypot, proof of work), the case.

    The fields are parsed from what ``_submit`` read ahead on the event loop, never waiting for the
    client: a stalled body cannot hold this thread, which every report needs. Without an attachment
    the whole body is read and checked here, so a malformed body stores nothing."""
    try:
        body.read_fields(within=_PREFETCH_BYTES)
    except FieldTooLong as too_long:
        # Over the reader's byte bound, which is generous for the field's character limit: the same
        # "… is te lang" the form's own check gives, so the person shortens it and loses nothing.
        return _form_refused(f.field_too_long(too_long.field), vault)
    except FormTooLarge:
        # No browser sends this (its fields are bounded far below): a padded or endless body.
        return _refused("invalid", 413, vault)
    except BodyTimedOut:
        return _refused("timeout", 408, vault)
    except ClientDisconnect:
        return _refused("invalid", 400, vault)
    except InvalidInput:
        return _refused("invalid", 400, vault)
    fields = body.fields
    try:
        proof = admit(
            vault,
            client_address=address,
            token=fields.get(f.POW_TOKEN, ""),
            counter=fields.get(f.POW_COUNTER, ""),
            honeypot=fields.get(f.HONEYPOT, ""),
        )
    except AlreadyReceived as already:
        return _received_before(already, body.has_file)
    except IntakeRefused as refused:
        status = 429 if refused.reason in _TOO_MANY else 400
        return _refused(refused.reason, status, vault, retry_after=refused.retry_after)
    ctx = public_context(vault, request_id)
    try:
        # D5: a birth date may not lie after the day the vault's clock receives the report.
        submission = f.parse_submission(form, fields, local_date(ctx.now()))
    except f.FormProblem as problem:
        return _form_refused(problem, vault)
    try:
        receipt = receive(vault, ctx, submission, used=proof)
    except AlreadyReceived as already:  # the same proof sent twice at once: the one case it opened
        return _received_before(already, body.has_file)
    except InvalidInput:
        # A value the fields above let through but the service refuses: say what to check.
        return _refused("invalid", 400, vault, [SERVICE_PROBLEM])
    except Unavailable:
        return _refused("unavailable", 503, vault)
    if not body.has_file:
        return _json({"ok": True, "reference": receipt.reference, "attachment": False}, 201)
    return receipt


def _attach(vault: Vault, body: StreamedForm, receipt: Receipt, request_id: str) -> JSONResponse:
    """Worker thread (the attachments' limiter): the attachment is sealed under the new case's key as
    it streams, outside any transaction (a slow client must not hold the write lock), so the case is
    committed before its bytes are read. The report is stored: whatever keeps the attachment out
    (a stalled or cut-off upload too), the answer carries the reference."""
    try:
        attachment = Attachment(
            filename=_safe_filename(body.filename or ""),
            content_type=_safe_content_type(body.content_type),
            chunks=body.file_chunks(),
        )
        receive_attachment(vault, public_context(vault, request_id), receipt, attachment)
    except Exception as exc:  # noqa: BLE001 — stored is stored: the person needs the reference
        log.warning("intake_attachment_failed", case_id=receipt.case_id, error=type(exc).__name__)
        return _json(
            {
                "ok": True,
                "reference": receipt.reference,
                "attachment": False,
                "message": "Uw formulier is ontvangen, maar de bijlage niet. "
                f"Noem uw referentienummer als u ons belt: {PHONE}.",
            },
            201,
        )
    return _json({"ok": True, "reference": receipt.reference, "attachment": True}, 201)


def _safe_filename(name: str) -> str:
    """The sender's name as the case worker will recognise it, kept as evidence (extension included:
    ``Foto.jpg.hta`` says something about the sender). It is never what a download is saved as
    unchecked: a staff download keeps an extension only from the allow-list and when the bytes agree
    (``file_names.staff_download``), and a partner gets a neutral name."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    # What the stored name may not hold is dropped here, not refused after the upload: the attachment
    # would be lost (a right-to-left mark in an Arabic name, a C1 control from an old system). Trailing
    # dots and spaces go (Windows drops them, so ``x.hta.`` would be saved as ``x.hta``).
    cleaned = without_controls(name).strip().rstrip(". ")
    return cleaned[:200].rstrip(". ") or "bijlage"


def _safe_content_type(value: str) -> str:
    value = value.strip()
    if not value or len(value) > 127 or not value.isascii() or any(ord(c) < 32 for c in value):
        return "application/octet-stream"
    return value


async def _submit(request: Request, vault: Vault, area: str, who: str) -> Response:
    try:
        check_origin(request)
    except Forbidden:
        return _refused("origin", 403, vault)
    declared = request.headers.get("content-length", "")
    if not (declared.isascii() and declared.isdigit()):
        return _refused("too_large", 411, vault)
    # Leading zeros go first: Python converts no string of more than 4300 digits (session 16, P3).
    significant = declared.lstrip("0")
    if len(significant) > 18 or int(significant or "0") > vault.settings.intake_max_bytes:
        return _refused("too_large", 413, vault)
    try:
        boundary = boundary_of(request.headers.get("content-type", ""))
    except InvalidInput:
        return _refused("invalid", 400, vault)
    source = SyncBody(request.stream(), idle_seconds=BODY_IDLE_SECONDS, total_seconds=BODY_DEADLINE_SECONDS)
    try:
        await source.prefetch(_PREFETCH_BYTES)
    except BodyTimedOut:
        return _refused("timeout", 408, vault)
    except ClientDisconnect:
        return _refused("invalid", 400, vault)
    body = StreamedForm(boundary, source, PUBLIC_FORM)
    rid = getattr(request.state, "request_id", None)
    request_id = rid if isinstance(rid, str) else "unknown"
    outcome = await anyio.to_thread.run_sync(
        partial(_handle, vault, _FORMS[(area, who)], body, client_address(request), request_id),
        limiter=_limiter("form"),
    )
    if not isinstance(outcome, Receipt):
        return outcome
    return await anyio.to_thread.run_sync(
        partial(_attach, vault, body, outcome, request_id), limiter=_limiter("attachment")
    )


@router.post("/melden/professional")
async def submit_report_professional(request: Request, vault: VaultDep) -> Response:
    return await _submit(request, vault, "melden", "professional")


@router.post("/melden/burger")
async def submit_report_citizen(request: Request, vault: VaultDep) -> Response:
    return await _submit(request, vault, "melden", "burger")


@router.post("/advies/professional")
async def submit_advice_professional(request: Request, vault: VaultDep) -> Response:
    return await _submit(request, vault, "advies", "professional")


@router.post("/advies/burger")
async def submit_advice_citizen(request: Request, vault: VaultDep) -> Response:
    return await _submit(request, vault, "advies", "burger")
