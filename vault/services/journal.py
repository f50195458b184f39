"""Journal notes (aantekeningen) on a case: written and read by the case's staff, through the gate.

- A note is free text (at most ``MAX_NOTE_LENGTH`` characters, line breaks kept; no control or
  bidirectional-text characters, ``vault.domain.disguising_characters``) sealed under the case DEK
  (D18). Its associated data is (``case_notes``, ``text``, ``binding``) where the binding of a note
  written since migration 0030 (``seal_version`` 2) is its id, case, author, time and the note it
  corrects (D14, D16): a note moved to another row or case, re-attributed, back-dated or detached
  from what it corrects no longer opens (``Integrity``). Notes written before keep ``seal_version``
  1 (binding: the note id only) and are not re-sealed. ``open_note`` opens either.
- Writing is a gated WRITE on the case (``dossier:note:added``); reading is a gated READ
  (``dossier:notes:read``), under break-the-glass too (read-only, flagged, D20). Only Veilig Thuis
  staff write or read notes: a partner is refused by the policy (no browsing of the case record), and
  a professional on their own advice case by this service (rule ``journal-staff-only``); both
  refusals are audited. The audit entries carry ids only — never the text.
- Append-only: nothing is overwritten or removed; database triggers (migration 0030) refuse any
  UPDATE of ``case_notes`` and any DELETE unless the case's ``destroyed_at`` is set. A correction is
  a new note naming the note it corrects (``corrects_id``); the page shows both, and the corrected
  note says it was corrected (``NoteView.corrected_by``). Only destruction of the whole case removes
  notes (``vault.services.destruction`` sets ``destroyed_at`` first, then removes every content
  table with a ``case_id``).
- A form chooses its note's id when it is shown (``add_note(note_id=…)``): the same form sent twice
  (a double click, a repeated post) is refused the second time (``Conflict``, rule
  ``journal-note-already-added``) and changes nothing, so a note that can never be removed is never
  stored twice; the log keeps the one ``dossier:note:added`` of the note that was stored.
- Under break-the-glass the reporter's recorded details are masked as ``[melder]`` in every note
  (D8: the policy withholds the identity from that reader; ``vault.services.reporter_mask``).
- Notes can name people (D22): they enter an inzage copy only when released item by item
  (``vault.services.inzage``, kind ``note``) and never reach a partner.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.context import Context
from vault.crypto.fields import encrypt_text
from vault.domain import Action, AuditTag, disguising_characters
from vault.errors import Conflict, Forbidden, Integrity, InvalidInput, NotFound
from vault.models import Case, CaseNote, User
from vault.runtime import Vault
from vault.services.documents import touch_case
from vault.services.gate import (
    Admission,
    GateRequest,
    RuleRefused,
    decrypt_case_field,
    gated_write,
    pass_gate,
)
from vault.services.reporter_mask import reporter_masker

__all__ = [
    "ALREADY_ADDED",
    "FORM_USED",
    "MAX_NOTE_LENGTH",
    "NOTE_COLUMN",
    "NOTE_TABLE",
    "SEAL_VERSION",
    "NoteText",
    "NoteView",
    "add_note",
    "check_note_text",
    "notes_of_case",
    "open_note",
    "read_notes",
]

MAX_NOTE_LENGTH = 10_000
NOTE_TABLE = "case_notes"
NOTE_COLUMN = "text"
STAFF_ONLY = "journal-staff-only"
ALREADY_ADDED = "journal-note-already-added"  # the same note sent again (a double submit)
FORM_USED = "journal-form-already-used"  # a note id that is taken, by another text or case
# 1: associated data binds the note id only (notes written before migration 0030);
# 2: it binds id, case, author, time and the corrected note (D14, D16).
SEAL_VERSION = 2

# Control characters other than line feed and tab (a carriage return is turned into a line feed).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

T = TypeVar("T")


class NoteText(InvalidInput):
    """The note's text was refused; ``reason`` is ``empty``, ``too_long`` or ``control`` (for a form)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class NoteView:
    note_id: str
    created_at: datetime
    author_id: str | None
    author: str | None  # the author's username (None: account no longer known)
    corrects_id: str | None
    text: str = field(repr=False)
    # D14: the corrections of this note (their id and time), oldest first.
    corrected_by: tuple[tuple[str, datetime], ...] = ()


def check_note_text(text: str) -> str:
    """The text as it is stored: line endings made ``\\n``, outer blank space removed. Raises
    ``NoteText`` (never echoing the text)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise NoteText("empty", "a note needs text")
    if len(text) > MAX_NOTE_LENGTH:
        raise NoteText("too_long", f"a note is at most {MAX_NOTE_LENGTH} characters")
    if _CONTROL.search(text) or disguising_characters(text.replace("\n", "").replace("\t", "")):
        raise NoteText(
            "control", "a note holds printable characters, line breaks and tabs only (no direction marks)"
        )
    return text


def _binding(
    note_id: str, case_id: str, created_by: str | None, created_at: datetime, corrects: str | None
) -> str:
    """The row id of a version-2 note's associated data: everything the journal shows beside the text."""
    at = created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return "v2:" + json.dumps([note_id, case_id, created_by, at, corrects], separators=(",", ":"))


def open_note(admission: Admission, note: CaseNote) -> str:
    """The note's text, under an admission for its case. ``Integrity`` when the text, or (for a note of
    seal version 2) its case, author, time or corrected note, is not what was sealed."""
    if note.seal_version == 1:
        row_id = note.id
    elif note.seal_version == SEAL_VERSION:
        row_id = _binding(note.id, note.case_id, note.created_by, note.created_at, note.corrects_id)
    else:
        raise Integrity("a journal note has an unknown seal version")
    try:
        return decrypt_case_field(
            admission, table=NOTE_TABLE, column=NOTE_COLUMN, row_id=row_id, value=note.text_enc
        )
    except Integrity:
        raise Integrity(
            "a journal note does not match its seal: "
            "its text, case, author, time or corrected note was changed"
        ) from None


def _staff_only(admission: Admission) -> None:
    if not admission.actor.role.is_staff:
        raise RuleRefused(Forbidden("journal notes are written and read by Veilig Thuis staff"), STAFF_ONLY)


def _same_note_again(
    session: Session,
    admission: Admission,
    ctx: Context,
    note_id: str,
    case_id: str,
    text: str,
    corrects: str | None,
) -> None:
    """A note id that is taken: the same note sent again (a double submit) or anything else. Either is
    refused (``Conflict``) and changes nothing; the transaction rolls back with the gate's entry, so
    the log holds one ``dossier:note:added`` per note stored and no refusal for a repeat (as a repeated
    revocation: only the change is recorded; a refusal per double click would count as probing, D21).
    The id of another case's note is audited as a refusal (rule ``journal-form-already-used``)."""
    existing = session.get(CaseNote, note_id)
    if existing is None:
        return
    repeat = (
        existing.case_id == case_id
        and existing.created_by == ctx.actor_id
        and existing.corrects_id == corrects
        and open_note(admission, existing) == text
    )
    if repeat:
        raise Conflict("this note was already added", rule=ALREADY_ADDED)
    used = Conflict("this form was already used for another note", rule=FORM_USED)
    if existing.case_id != case_id:
        # The id of a note of another case: the answer tells that it is a note somewhere, so the
        # attempt is audited as a refusal (ids and rule only) for the daily review (D21).
        raise RuleRefused(used, FORM_USED)
    raise used


def add_note(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    text: str,
    corrects_id: str | None = None,
    note_id: str | None = None,
) -> str:
    """Add a note to the case (a gated WRITE, audited ``dossier:note:added`` with the note's id).

    ``corrects_id`` names an earlier note of the same case that this one corrects (it stays as it is).
    ``note_id``: the id the form chose when it was shown, so that the same form sent twice is one note:
    the repeat is refused with ``Conflict`` (rule ``journal-note-already-added``; another text or
    case under a taken id: ``journal-form-already-used``) and stores nothing.
    """
    text = check_note_text(text)
    if corrects_id is not None and not _UUID.match(corrects_id):
        raise InvalidInput("corrects_id names a note by its id")
    if note_id is not None and not _UUID.match(note_id):
        raise InvalidInput("note_id is a note's id")
    note_id = note_id or str(uuid.uuid4())

    def write(session: Session, admission: Admission) -> str:
        assert admission.dek is not None
        _staff_only(admission)
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound("no such case")
        _same_note_again(session, admission, ctx, note_id, case_id, text, corrects_id)
        if corrects_id is not None:
            earlier = session.get(CaseNote, corrects_id)
            if earlier is None or earlier.case_id != case_id:
                raise RuleRefused(NotFound("no such note in this case"), "journal-no-such-note")
        now = ctx.now()
        binding = _binding(note_id, case_id, ctx.actor_id, now, corrects_id)
        session.add(
            CaseNote(
                id=note_id,
                case_id=case_id,
                text_enc=encrypt_text(
                    admission.dek, table=NOTE_TABLE, column=NOTE_COLUMN, row_id=binding, value=text
                ),
                created_at=now,
                created_by=ctx.actor_id,
                corrects_id=corrects_id,
                seal_version=SEAL_VERSION,
            )
        )
        touch_case(case, ctx)
        session.flush()
        return note_id

    return gated_write(
        vault,
        ctx,
        case_id,
        category=None,
        tag=AuditTag.DOSSIER_NOTE_ADDED,
        object_type="note",
        object_id=note_id,
        then=write,
    )


def notes_of_case(session: Session, case_id: str) -> list[CaseNote]:
    """The case's note rows (sealed), oldest first: for callers inside their own gate decision."""
    return list(
        session.scalars(
            select(CaseNote).where(CaseNote.case_id == case_id).order_by(CaseNote.created_at, CaseNote.id)
        )
    )


def _gated_read(
    vault: Vault, ctx: Context, req: GateRequest, *, then: Callable[[Session, Admission], T]
) -> T:
    return pass_gate(
        vault,
        ctx,
        req,
        tag=AuditTag.DOSSIER_NOTES_READ,
        object_type="notes",
        object_id=req.case_id,
        then=then,
    )


def read_notes(
    vault: Vault, ctx: Context, case_id: str, *, break_glass_justification: str | None = None
) -> list[NoteView]:
    """The case's notes, newest first, decrypted under a READ decision (``dossier:notes:read``).

    Under break-the-glass the reporter's recorded details are masked in each text (D8,
    ``reporter_mask``); each note names its corrections (``corrected_by``, D14)."""

    def decrypt(session: Session, admission: Admission) -> list[NoteView]:
        _staff_only(admission)
        rows = session.execute(
            select(CaseNote, User.username)
            .outerjoin(User, User.id == CaseNote.created_by)
            .where(CaseNote.case_id == case_id)
            .order_by(CaseNote.created_at.desc(), CaseNote.id.desc())
        ).all()
        mask = reporter_masker(session, admission, case_id)
        corrections: dict[str, list[tuple[str, datetime]]] = {}
        for note, _ in reversed(rows):  # oldest first
            if note.corrects_id is not None:
                corrections.setdefault(note.corrects_id, []).append((note.id, note.created_at))
        views = []
        for note, username in rows:
            text = open_note(admission, note)
            views.append(
                NoteView(
                    note_id=note.id,
                    created_at=note.created_at,
                    author_id=note.created_by,
                    author=username,
                    corrects_id=note.corrects_id,
                    text=mask(text) if mask else text,
                    corrected_by=tuple(corrections.get(note.id, ())),
                )
            )
        return views

    return _gated_read(
        vault,
        ctx,
        GateRequest(case_id, Action.READ, break_glass_justification=break_glass_justification),
        then=decrypt,
    )
