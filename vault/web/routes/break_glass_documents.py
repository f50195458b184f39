"""D20 on the web: a document read under break-the-glass (review B5).

The break-the-glass view (``routes.cases.break_glass``) offers a small form per readable document. Its
POST re-carries the written justification in the body (never in the URL: addresses end up in logs
and browser history), is checked like every form (origin and session token, ``VerifiedForm``) and runs
the GET download's group-commit job: the session and the gate's facts in one statement, then
``gate.admit_read`` with the justification, as the API's download with ``X-Break-Glass-Justification``.
The read is flagged and joins the emergency access of the view it came from (same session, same text).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from vault.audit.break_glass import without_refused_characters
from vault.errors import InvalidInput, StepUpRequired
from vault.http.deps import AuthConfigDep, VaultDep
from vault.http.params import CaseId, DocumentId
from vault.policy import BREAK_GLASS_MIN_CHARS, non_blank_chars
from vault.repositories.access import read_facts_of
from vault.services.gate import AdmittedRead, admit_read
from vault.services.reporter_mask import neutral_under_break_glass
from vault.web.csrf import VerifiedForm
from vault.web.routes.documents import admitted_download
from vault.web.session import WebActor, cookie_name

__all__ = ["MAX_JUSTIFICATION", "router"]

router = APIRouter(include_in_schema=False)

MAX_JUSTIFICATION = 1000  # as the break-the-glass form


def _justification(form_text: str) -> str:
    """The re-carried justification, or ``InvalidInput`` (a 400 page): the view only ever sends back
    what its own form accepted, so anything else was changed on the way."""
    typed = form_text.replace("\r\n", "\n")
    justification = without_refused_characters(typed)
    if (
        justification != typed
        or non_blank_chars(justification) < BREAK_GLASS_MIN_CHARS
        or len(justification) > MAX_JUSTIFICATION
    ):
        raise InvalidInput("break-the-glass justification missing or changed")
    return justification


@router.post("/zaken/{case_id}/noodtoegang/documenten/{document_id}")
async def break_glass_download(
    case_id: CaseId,
    document_id: DocumentId,
    request: Request,
    vault: VaultDep,
    auth: AuthConfigDep,
    form: VerifiedForm,
) -> Response:
    """D20: one document of ``case_id`` read under the justification in the body (step-up first)."""
    request.state.web_actor = form.user  # the error page shows the menu of the logged-in user
    # Twice the limit: a browser sends the line breaks as CRLF (review s18 G2); the length is checked after.
    justification = _justification(form.text("justification", limit=2 * MAX_JUSTIFICATION + 1))
    if not form.user.ctx.stepped_up_within(vault.settings.step_up_minutes):
        # Ask for the code first (the form is carried through it); the gate would refuse otherwise.
        raise StepUpRequired("break-the-glass needs a recent second-factor check")
    token = request.cookies.get(cookie_name(vault)) or ""

    def admit(session: Session, actor: WebActor, row: Any) -> AdmittedRead | None:
        if row is not None and row.document_case_id not in (None, case_id):
            return None  # the justification was written for another case: nothing read (404)
        facts = read_facts_of(actor.ctx, row)
        read = admit_read(
            session, vault, actor.ctx, document_id, break_glass_justification=justification, read_facts=facts
        )
        return neutral_under_break_glass(session, read)  # D8: never the uploader's file name

    return await admitted_download(request, vault, auth, token, document_id, admit)
