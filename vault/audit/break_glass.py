"""Emergency accesses (break-the-glass, D20): the written justification, sealed, and its grouping.

An *emergency access* is what the privacy officer reviews: every break-the-glass read by **one
actor, of one case, in one session, under the same justification text** (compared in its normalised
form, ``normalised_justification``: NFKC, case folded, invisible format characters dropped, white
space collapsed; the sealed text is the first one given, trimmed). A case page opened with
break-the-glass reads the case, its subjects and its document titles (several audit entries); a
download later in the same session with the same justification joins that access, as long as the
privacy officer has not reviewed it: a reviewed access is closed, and the next read of its grouping
starts a new access, so that reads made after a judgement come up for review again. Another
session, another case or another text starts a new one. A caller without a session (the command
line) groups by request. The access's number is the sequence number of its first audit entry; an
older break-the-glass entry that has no access row (written before accesses were kept) counts as an
access of its own, without a justification.

The justification is free text that may name people, so it never enters the audit log: the entry
holds ids only, and the text is sealed in ``break_glass_accesses`` in the same transaction as the
entry (``vault.services.gate.admit``). Sealing: AES-256-GCM under the ``FIELD_METADATA`` subkey,
bound to table, column and row (``vault.crypto.fields``), as other free-text reasons are. Only the
privacy officer's views (``vault.services.audit_reports``) open it. The officer's review comment is
sealed the same way, bound to ``audit_break_glass_reviews``.

Beside the sealed text the row keeps what the log review (D21) needs without decrypting: a keyed hash
of the normalised text (a re-used justification, whatever its case or spacing) and the policy's own
count of its non-blank characters (a short one, however padded or encoded).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any, Final

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from vault.audit.queries import ENTRY_COLUMNS, EntryFilter, filtered_entries
from vault.audit.sealed import open_sealed, seal
from vault.auth.keyed import keyed_hash
from vault.context import Context
from vault.crypto.keys import SubkeyPurpose
from vault.domain import BIDI_CONTROLS
from vault.errors import Conflict, InvalidInput
from vault.models import AuditEntry, BreakGlassAccess, BreakGlassAccessEntry, BreakGlassReview, Document
from vault.policy import non_blank_chars as policy_justification_chars
from vault.runtime import Vault

__all__ = [
    "ACCESS_TABLE",
    "FOLLOWUP",
    "REVIEW_TABLE",
    "access_rows",
    "access_seq_of",
    "accesses_of_entries",
    "awaiting_verdict",
    "category_read",
    "check_justification",
    "first_of_grouping",
    "iter_export_rows",
    "justification_digest",
    "justification_problem",
    "normalised_justification",
    "note_emergency_access",
    "open_comment",
    "open_justification",
    "reads_of",
    "review_for",
    "seal_comment",
    "session_key",
    "split_after",
    "without_refused_characters",
]

ACCESS_TABLE: Final = "break_glass_accesses"
REVIEW_TABLE: Final = "audit_break_glass_reviews"
# v2: over the normalised text (v1, before migration 0026, hashed the text trimmed at its ends only).
_DIGEST_LABEL: Final = b"vault/break-glass/justification/v2"


def session_key(ctx: Context) -> str:
    """What bounds one emergency access in time: the session, or the request when there is none."""
    return ctx.session_id or f"request:{ctx.request_id}"


# Characters a justification may not hold: control characters other than line feed and tab (as in a
# journal note, ``vault.services.journal``) and the Unicode line and paragraph separators. A bare CR
# in particular ends a row in a spreadsheet: the privacy officer's CSV export (D20) would otherwise
# start a row with whatever the colleague under review typed after it. A CRLF is a line break as a
# form sends it and becomes a line feed (``check_justification``). Bidirectional-text controls
# (``BIDI_CONTROLS``) would show the officer the reason in another order than it was written.
_ALLOWED_CONTROLS: Final = frozenset("\n\t")
_LINE_SEPARATORS: Final = frozenset("\u2028\u2029")


def _refused(ch: str) -> bool:
    return (
        ch in _LINE_SEPARATORS
        or ch in BIDI_CONTROLS
        or (unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS)
    )


def justification_problem(text: str) -> str | None:
    """Why ``text`` (line endings already ``\\n``) cannot be a justification, or None. The reason
    never echoes the text."""
    if any(_refused(ch) for ch in text):
        return "may contain no control characters other than line breaks and tabs, nor bidi controls"
    return None


def without_refused_characters(text: str) -> str:
    """``text`` without what ``justification_problem`` refuses: what a form shows again after the
    refusal, so that the rest of what was typed is kept and nothing invisible goes back into a page."""
    return "".join(ch for ch in text if not _refused(ch))


def check_justification(text: str) -> str:
    """The justification as it is kept: a CRLF made ``\\n``. Raises ``InvalidInput`` for a control
    character (``justification_problem``); the API and the web form check first, with their own
    answer, and this guards every other way in (a download's header, the command line)."""
    text = text.replace("\r\n", "\n")
    problem = justification_problem(text)
    if problem is not None:
        raise InvalidInput(f"break_glass_justification {problem}")
    return text


def normalised_justification(text: str) -> str:
    """What makes two justifications "the same text": NFKC (full-width, ligatures, non-breaking
    spaces), case folded, invisible format characters (zero-width space, soft hyphen) dropped, and
    every run of white space one space. Changing case or spacing does not make a re-used text new."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    return " ".join(visible.split())


def justification_digest(vault: Vault, text: str) -> str:
    """The keyed hash (HMAC-SHA256, ``FIELD_METADATA`` subkey) of the normalised justification: never
    a plain hash, which anyone could test guesses of a short text against."""
    key = vault.keys.subkey(SubkeyPurpose.FIELD_METADATA)
    return keyed_hash(key, _DIGEST_LABEL, normalised_justification(text))


# Marks the grouping key of an access started because the earlier one of the same grouping was
# reviewed: ``<session key>#<access number>`` (a session id or request id never holds a ``#``). The
# unique grouping index (actor, case, session key, justification) then still holds one row per key.
_AFTER_REVIEW: Final = "#"


def _open_access(
    conn: Connection, actor_id: str, case_id: str, key: str, digest: str
) -> tuple[int | None, bool]:
    """The access a new read of this grouping joins: the newest one not yet reviewed (None when every
    one was, or there is none), and whether the grouping has any access at all. A reviewed access is
    closed: the privacy officer judged the reads it held then, and a later read must come up for
    review again (D20), not hide under that judgement."""
    rows = conn.execute(
        select(BreakGlassAccess.seq, BreakGlassReview.seq.label("reviewed"))
        .outerjoin(BreakGlassReview, BreakGlassReview.seq == BreakGlassAccess.seq)
        .where(
            BreakGlassAccess.actor_id == actor_id,
            BreakGlassAccess.case_id == case_id,
            BreakGlassAccess.justification_digest == digest,
            or_(
                BreakGlassAccess.session_key == key,
                BreakGlassAccess.session_key.startswith(key + _AFTER_REVIEW, autoescape=True),
            ),
        )
        .order_by(BreakGlassAccess.seq.desc())
    ).all()
    open_ = next((int(row.seq) for row in rows if row.reviewed is None), None)
    return open_, bool(rows)


def first_of_grouping() -> Any:
    """SQL condition: the access is the first of its grouping, not one started after a review. A
    count of accesses per justification (the log review's "repeated", D21) counts these only: reads
    going on in one session under one text are one use of it, reviewed in between or not."""
    return BreakGlassAccess.session_key.not_like(f"%{_AFTER_REVIEW}%")


def note_emergency_access(
    session: Session, vault: Vault, ctx: Context, case_id: str, seq: int, justification: str | None
) -> int:
    """Attach the break-the-glass audit entry ``seq`` to its emergency access, starting one (with the
    sealed justification) when this actor has none for this case, session and text that the privacy
    officer has not reviewed yet (``_open_access``). Runs in the transaction that wrote the entry;
    returns the access's number."""
    text = check_justification(justification or "").strip()
    digest = justification_digest(vault, text)
    actor_id = ctx.actor_id or "unknown"
    key = session_key(ctx)
    conn = session.connection()
    access, grouped = _open_access(conn, actor_id, case_id, key, digest)
    if access is None:
        access = seq
        sealed = seal(vault, table=ACCESS_TABLE, column="justification", row_id=str(seq), text=text)
        conn.execute(
            insert(BreakGlassAccess),
            {
                "seq": seq,
                "actor_id": actor_id,
                "case_id": case_id,
                "session_key": key if not grouped else f"{key}{_AFTER_REVIEW}{seq}",
                "justification_digest": digest,
                "justification_enc": sealed,
                # D21: the count the policy admitted it by (vault.policy.engine), for the log review.
                "justification_chars": policy_justification_chars(text),
                "started_at": ctx.now(),
            },
        )
    conn.execute(insert(BreakGlassAccessEntry), {"seq": seq, "access_seq": access})
    return int(access)


def split_after(session: Session, vault: Vault, access_seq: int, through_seq: int) -> int | None:
    """Before a review of access ``access_seq`` that judged its reads up to ``through_seq`` (the last
    one the privacy officer was shown): move the reads after it into an access of their own, numbered
    by the first of them and carrying the same sealed justification, so that the verdict covers what
    was judged and the later reads come up for review (D20). Returns the new access's number, or None
    when there is no later read. ``Conflict`` when ``through_seq`` is not a read of this access (the
    page was out of date)."""
    rows = session.execute(
        select(BreakGlassAccessEntry.seq).where(BreakGlassAccessEntry.access_seq == access_seq)
    ).scalars()
    reads = sorted(int(seq) for seq in rows) or [access_seq]  # an access from before grouping: itself
    if through_seq not in reads:
        raise Conflict("the reads shown are not those of this emergency access; reload the page")
    later = [seq for seq in reads if seq > through_seq]
    if not later:
        return None
    access = session.get(BreakGlassAccess, access_seq)
    if access is None:  # (an access row exists whenever entries are grouped under it)
        raise Conflict("this emergency access has no record of its reads")
    first = later[0]
    text = open_justification(vault, access_seq, access.justification_enc) or ""
    started = session.scalar(select(AuditEntry.occurred_at).where(AuditEntry.seq == first))
    session.execute(
        insert(BreakGlassAccess),
        {
            "seq": first,
            "actor_id": access.actor_id,
            "case_id": access.case_id,
            "session_key": f"{access.session_key.split(_AFTER_REVIEW)[0]}{_AFTER_REVIEW}{first}",
            "justification_digest": access.justification_digest,
            "justification_enc": seal(
                vault, table=ACCESS_TABLE, column="justification", row_id=str(first), text=text
            ),
            "justification_chars": access.justification_chars,
            "started_at": started or access.started_at,
        },
    )
    session.execute(
        update(BreakGlassAccessEntry)
        .where(BreakGlassAccessEntry.access_seq == access_seq, BreakGlassAccessEntry.seq > through_seq)
        .values(access_seq=first)
    )
    return first


def open_justification(vault: Vault, access_seq: int, sealed: bytes | None) -> str | None:
    return open_sealed(
        vault, table=ACCESS_TABLE, column="justification", row_id=str(access_seq), sealed=sealed
    )


def seal_comment(vault: Vault, access_seq: int, comment: str, *, column: str = "comment") -> bytes:
    return seal(vault, table=REVIEW_TABLE, column=column, row_id=str(access_seq), text=comment)


def open_comment(
    vault: Vault, access_seq: int, sealed: bytes | None, *, column: str = "comment"
) -> str | None:
    return open_sealed(vault, table=REVIEW_TABLE, column=column, row_id=str(access_seq), sealed=sealed)


FOLLOWUP: Final = "needs_followup"  # `audit_reports.ReviewOutcome.NEEDS_FOLLOWUP`: not final (D20)


def awaiting_verdict() -> Any:
    """SQL condition: the access still needs a verdict — never reviewed, or marked for follow-up
    without its final verdict yet."""
    return or_(
        BreakGlassReview.seq.is_(None),
        and_(BreakGlassReview.outcome == FOLLOWUP, BreakGlassReview.final_outcome.is_(None)),
    )


# --- queries ---------------------------------------------------------------------------------------

_own = aliased(BreakGlassAccessEntry, name="own")


def _is_access_start() -> Any:
    """A break-the-glass entry that starts an access: the first of a grouped access, or one alone."""
    return and_(AuditEntry.break_glass.is_(True), or_(_own.seq.is_(None), _own.access_seq == AuditEntry.seq))


def access_rows(
    session: Session, *, before_seq: int | None, limit: int, unreviewed_only: bool
) -> list[dict[str, Any]]:
    """D20: emergency accesses, newest first: the first entry's fields, the sealed justification and
    the review (sealed comment included), if any."""
    stmt = (
        select(
            *(getattr(AuditEntry, name) for name in ENTRY_COLUMNS),
            BreakGlassAccess.justification_enc.label("justification_enc"),
            BreakGlassReview.outcome.label("review_outcome"),
            BreakGlassReview.comment_enc.label("review_comment_enc"),
            BreakGlassReview.reviewer_id.label("reviewer_id"),
            BreakGlassReview.reviewed_at.label("reviewed_at"),
            BreakGlassReview.final_outcome.label("final_outcome"),
            BreakGlassReview.final_comment_enc.label("final_comment_enc"),
            BreakGlassReview.final_reviewer_id.label("final_reviewer_id"),
            BreakGlassReview.final_reviewed_at.label("final_reviewed_at"),
        )
        .outerjoin(_own, _own.seq == AuditEntry.seq)
        .outerjoin(BreakGlassAccess, BreakGlassAccess.seq == AuditEntry.seq)
        .outerjoin(BreakGlassReview, BreakGlassReview.seq == AuditEntry.seq)
        .where(_is_access_start())
        .order_by(AuditEntry.seq.desc())
        .limit(limit)
    )
    if before_seq is not None:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    if unreviewed_only:
        stmt = stmt.where(awaiting_verdict())
    return [dict(row._mapping) for row in session.execute(stmt)]


def reads_of(session: Session, access_seqs: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The audit entries (seq, time, tag, object) of each access, oldest first."""
    wanted = sorted(set(access_seqs))
    found: dict[int, list[dict[str, Any]]] = {seq: [] for seq in wanted}
    if not wanted:
        return found
    stmt = (
        select(
            BreakGlassAccessEntry.access_seq,
            AuditEntry.seq,
            AuditEntry.occurred_at,
            AuditEntry.tag,
            AuditEntry.object_type,
            AuditEntry.object_id,
            Document.category.label("document_category"),
        )
        .join(AuditEntry, AuditEntry.seq == BreakGlassAccessEntry.seq)
        .outerjoin(Document, and_(AuditEntry.object_type == "document", Document.id == AuditEntry.object_id))
        .where(BreakGlassAccessEntry.access_seq.in_(wanted))
        .order_by(AuditEntry.seq)
    )
    for row in session.execute(stmt):
        item = dict(row._mapping)
        item["category"] = category_read(item, item.pop("document_category"))
        found[item.pop("access_seq")].append(item)
    return found


def category_read(entry: dict[str, Any], document_category: str | None) -> str | None:
    """D20: the category an emergency read opened, so the officer sees whether it was, say, the
    medical file: a document's category, or the category whose titles were read (its object id)."""
    if entry.get("object_type") == "document":
        return document_category
    if entry.get("object_type") == "document_titles":
        return str(entry.get("object_id") or "") or None
    return None


def access_seq_of(session: Session, seq: int) -> int | None:
    """The number of the access that break-the-glass entry ``seq`` belongs to (None: not one)."""
    row = session.execute(
        select(AuditEntry.break_glass, _own.access_seq)
        .outerjoin(_own, _own.seq == AuditEntry.seq)
        .where(AuditEntry.seq == seq)
    ).first()
    if row is None or not row.break_glass:
        return None
    return int(row.access_seq) if row.access_seq is not None else seq


def review_for(session: Session, access_seq: int) -> BreakGlassReview | None:
    return session.get(BreakGlassReview, access_seq)


def iter_export_rows(conn: Connection, filters: EntryFilter) -> Iterator[dict[str, Any]]:
    """Every matching entry, oldest first, with its access number and sealed justification
    (``None`` for other entries); streamed like ``queries.iter_entry_rows``."""
    stmt = (
        filtered_entries(filters)
        .add_columns(
            _own.access_seq.label("break_glass_access"),
            BreakGlassAccess.justification_enc.label("justification_enc"),
        )
        .outerjoin(_own, _own.seq == AuditEntry.seq)
        .outerjoin(BreakGlassAccess, BreakGlassAccess.seq == _own.access_seq)
        .order_by(AuditEntry.seq)
    )
    for rows in conn.execution_options(yield_per=1000).execute(stmt).partitions():
        for row in rows:
            yield dict(row._mapping)


def accesses_of_entries(session: Session, seqs: Iterable[int]) -> dict[int, tuple[int, bytes | None]]:
    """For break-the-glass entries ``seqs``: their access number and its sealed justification (an
    entry without an access row is an access of its own, without a justification)."""
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    found: dict[int, tuple[int, bytes | None]] = {seq: (seq, None) for seq in wanted}
    stmt = (
        select(
            BreakGlassAccessEntry.seq, BreakGlassAccessEntry.access_seq, BreakGlassAccess.justification_enc
        )
        .join(BreakGlassAccess, BreakGlassAccess.seq == BreakGlassAccessEntry.access_seq)
        .where(BreakGlassAccessEntry.seq.in_(wanted))
    )
    for row in session.execute(stmt):
        found[int(row.seq)] = (int(row.access_seq), row.justification_enc)
    return found
