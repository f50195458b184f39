"""Journal notes (aantekeningen) on a case: added and read through the gate, encrypted under the case key.

Thin: parse, call ``vault.services.journal``, return a schema. The note's text travels only in bodies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from vault.http.deps import RequestContext, VaultDep
from vault.http.params import UUID_PATTERN, CaseId
from vault.services import journal

__all__ = ["router"]

router = APIRouter(tags=["cases"])

_NOTES = "/api/v1/cases/{case_id}/notes"


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The service counts after turning CRLF into LF; this bound only caps the body.
    text: Annotated[str, StringConstraints(min_length=1, max_length=2 * journal.MAX_NOTE_LENGTH)]
    corrects_id: Annotated[str, StringConstraints(pattern=UUID_PATTERN, max_length=36)] | None = None
    # Chosen by the client so that a retried post is one note (D14): the repeat answers 409 (rule
    # ``journal-note-already-added``) and stores nothing.
    id: Annotated[str, StringConstraints(pattern=UUID_PATTERN, max_length=36)] | None = None


class NoteCreated(BaseModel):
    id: str


class NoteOut(BaseModel):
    id: str
    created_at: datetime
    author_id: str | None
    author: str | None = Field(description="the author's username")
    corrects_id: str | None
    text: str
    corrected_by: list[str] = Field(
        default_factory=list, description="D14: the ids of the notes that correct this one, oldest first"
    )


@router.post(_NOTES, status_code=status.HTTP_201_CREATED, response_model=NoteCreated)
def add_note(case_id: CaseId, body: NoteIn, ctx: RequestContext, vault: VaultDep) -> NoteCreated:
    return NoteCreated(
        id=journal.add_note(
            vault, ctx, case_id, text=body.text, corrects_id=body.corrects_id, note_id=body.id
        )
    )


@router.get(_NOTES, response_model=list[NoteOut])
def read_notes(case_id: CaseId, ctx: RequestContext, vault: VaultDep) -> list[NoteOut]:
    return [
        NoteOut(
            id=n.note_id,
            created_at=n.created_at,
            author_id=n.author_id,
            author=n.author,
            corrects_id=n.corrects_id,
            text=n.text,
            corrected_by=[note_id for note_id, _ in n.corrected_by],
        )
        for n in journal.read_notes(vault, ctx, case_id)
    ]
