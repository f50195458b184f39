"""Journal notes (aantekeningen) on a case, encrypted under the case key like documents.

The case page's panel lists the notes (newest first) and offers the form; ``/zaken/{id}/aantekeningen``
takes the post and ``/zaken/{id}/aantekeningen/nieuw`` is the form on its own page (a correction of an
earlier note, or the form again after a refusal, with what was typed). Every read and write is
``vault.services.journal`` (the gate decides and audits, as for the API). Only staff see the panel; a
break-the-glass view shows the notes read-only (its own audited, flagged read) and offers no form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from vault.domain import Role, reference_of
from vault.http.deps import VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.runtime import Vault
from vault.services.case_view import CaseView
from vault.services.journal import MAX_NOTE_LENGTH, NoteText, NoteView, add_note, read_notes
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
    }


def _form_page(
    request: Request,
    actor: WebActor,
    case_id: str,
    *,
    corrects: NoteView | None,
    text: str = "",
    error: str | None = None,
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
        status_code=400 if error else 200,
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
    typed = form.text("tekst", limit=2 * MAX_NOTE_LENGTH + 1)
    corrects_id = form.text("corrigeert", limit=36) or None
    try:
        add_note(vault, actor.ctx, case_id, text=typed, corrects_id=corrects_id)
    except NoteText as refused:
        notes = read_notes(vault, actor.ctx, case_id) if corrects_id else []
        return _form_page(
            request,
            actor,
            case_id,
            corrects=_earlier(notes, corrects_id),
            text=typed,
            error=_TEXT_ERRORS.get(refused.reason, _TEXT_ERRORS["control"]),
        )
    return see_other(f"/zaken/{case_id}", notice="aantekening-toegevoegd")
