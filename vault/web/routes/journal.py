"""Journal notes (aantekeningen) on a case, encrypted under the case key like documents.

The case page's panel lists the notes (newest first) and offers the form; ``/zaken/{id}/aantekeningen``
takes the post and ``/zaken/{id}/aantekeningen/nieuw`` is the form on its own page (a correction of an
earlier note, or the form again after a refusal, with what was typed). Every read and write is
``vault.services.journal`` (the gate decides and audits, as for the API). Only staff see the panel; a
break-the-glass view shows the notes read-only (its own audited, flagged read) and offers no form.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import Role, reference_of
from vault.errors import Conflict
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.runtime import Vault
from vault.services.case_view import CaseView
from vault.services.journal import (
    ALREADY_ADDED,
    MAX_NOTE_LENGTH,
    NoteText,
    NoteView,
    add_note,
    read_notes,
)
from vault.web.csrf import VerifiedForm
from vault.web.render import page, see_other
from vault.web.routes.panels import PanelValues
from vault.web.session import WebActor, WebUser

router = APIRouter(include_in_schema=False)

# The one reason a note was refused, by ``NoteText.reason`` (the field is ``tekst``).
_TEXT_ERRORS = {
    "empty": "Schrijf de tekst van de aantekening.",
    "too_long": f"Een aantekening is hoogstens {MAX_NOTE_LENGTH:_} tekens lang.".replace("_", "."),
    "control": "De tekst bevat tekens die niet zijn toegestaan. Gebruik gewone tekst en regeleinden.",
}
NoteRef = Annotated[str | None, Query(pattern=UUID_PATTERN, max_length=36)]
# The form's own note id (``aantekening``): the same form sent twice is one note (D14).
FORM_ID = "aantekening"
_FORM_USED = (
    "Dit formulier is al gebruikt voor een andere aantekening. Uw tekst is nog niet opgeslagen: "
    "controleer hem en klik opnieuw op „Aantekening toevoegen”."
)
# What a note's text is read up to: every body is at most 1 MiB (``SmallBodyLimitMiddleware``), so
# a text over the limit comes back whole with the reason, never cut off.
_TYPED_LIMIT = 1 << 20
_UUID = re.compile(UUID_PATTERN)


def new_form_id() -> str:
    return str(uuid.uuid4())


def _is_staff(actor: WebActor) -> bool:
    try:
        return Role(actor.role).is_staff
    except ValueError:
        return False


def panel(request: Request, vault: Vault, actor: WebActor, view: CaseView, break_glass: bool) -> PanelValues:
    """The values of ``templates/case/_journal.html``: only staff get the notes (partners never)."""
    if not _is_staff(actor):
        return {"journal_shown": False}
    justification: str | None = None
    if break_glass:
        # Set by the break-the-glass route: the notes are read under the same justification (D20).
        justification = getattr(request.state, "break_glass_justification", None)
        if justification is None:
            return {"journal_shown": False}
    notes = read_notes(vault, actor.ctx, view.case_id, break_glass_justification=justification)
    return {
        "journal_shown": True,
        "journal_notes": notes,
        "journal_max": MAX_NOTE_LENGTH,
        "journal_corrects": {n.note_id: n for n in notes},
        "journal_form_id": new_form_id(),
    }


def _form_page(
    request: Request,
    actor: WebActor,
    case_id: str,
    *,
    corrects: NoteView | None,
    text: str = "",
    error: str | None = None,
    form_id: str | None = None,
    status_code: int | None = None,
) -> HTMLResponse:
    return page(
        request,
        "journal_note.html",
        actor=actor,
        case_id=case_id,
        reference=reference_of(case_id),
        corrects=corrects,
        text=text,
        errors={"tekst": error} if error else {},
        max_length=MAX_NOTE_LENGTH,
        form_id=form_id or new_form_id(),
        status_code=status_code or (400 if error else 200),
    )


def _earlier(notes: list[NoteView], note_id: str | None) -> NoteView | None:
    if note_id is None:
        return None
    for note in notes:
        if note.note_id == note_id:
            return note
    return None


@router.get("/zaken/{case_id}/aantekeningen/nieuw")
def note_form(
    request: Request, case_id: CaseId, vault: VaultDep, actor: WebUser, corrigeert: NoteRef = None
) -> HTMLResponse:
    """The form on its own page; with ``corrigeert`` it shows the note being corrected (an audited read)."""
    notes = read_notes(vault, actor.ctx, case_id)
    return _form_page(request, actor, case_id, corrects=_earlier(notes, corrigeert))


@router.post("/zaken/{case_id}/aantekeningen")
def note_added(request: Request, case_id: CaseId, vault: VaultDep, form: VerifiedForm) -> Response:
    actor = form.user
    typed = form.text("tekst", limit=_TYPED_LIMIT)
    corrects_id = form.text("corrigeert", limit=36) or None
    form_id = form.text(FORM_ID, limit=36)
    note_id = form_id if _UUID.fullmatch(form_id) else None
    error: str | None = None
    try:
        add_note(vault, actor.ctx, case_id, text=typed, corrects_id=corrects_id, note_id=note_id)
    except NoteText as refused:
        error = _TEXT_ERRORS.get(refused.reason, _TEXT_ERRORS["control"])
    except Conflict as refused:
        if refused.rule == ALREADY_ADDED:  # the same form sent again: that note is there, once
            return see_other(f"/zaken/{case_id}", notice="aantekening-toegevoegd")
        error, note_id = _FORM_USED, None
    if error is not None:
        notes = read_notes(vault, actor.ctx, case_id) if corrects_id else []
        return _form_page(
            request,
            actor,
            case_id,
            corrects=_earlier(notes, corrects_id),
            text=typed,
            error=error,
            form_id=note_id,
            status_code=409 if error == _FORM_USED else 400,
        )
    return see_other(f"/zaken/{case_id}", notice="aantekening-toegevoegd")
