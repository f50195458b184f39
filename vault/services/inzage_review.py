"""Review of the free text an inzage copy would carry (D8, D13, D22), per access request.

A staff member who may work the case lists the free-text items of the copy (``list_free_text``: the
text itself, so it can be judged) and releases or withholds each (``review_free_text``). Releasing
needs a recent second-factor check, like the export; withholding never does (it is the safe way).
Each decision is audited with ids only (the access request, the item's kind and id), never the text,
and is bound to the exact stored text (see ``vault.services.inzage``). A completed request is closed:
its decisions no longer change.

The items are the document titles and the case's journal notes (kind ``note``, D22).

These are the functions a review page calls; the export (``inzage.export_for_subject`` with the
request's id) then shows the released items and lists every other one as withheld with its reason.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import Action, AuditTag, Category, Decision
from vault.errors import Conflict, InvalidInput, NotFound, StepUpRequired
from vault.models import AccessRequest, AuditEntry, InzageItemReview
from vault.runtime import Vault
from vault.services.gate import Admission, GateRequest, RuleRefused, decrypt_case_field, pass_gate
from vault.services.inzage import (
    PURPOSE,
    FreeTextKind,
    ReviewDecision,
    WithholdingGround,
    copy_documents,
    effective_decision,
    item_id,
    parse_item,
    review_state,
    stored_digest,
)
from vault.services.journal import notes_of_case, open_note
from vault.services.reporter_mentions import reporter_mentions

__all__ = [
    "RELEASE_NAMES_REPORTER_RULE",
    "FreeTextItem",
    "ReviewedItem",
    "last_copy_and_review",
    "list_free_text",
    "review_free_text",
    "unreviewed_items",
]

_MAX_CHOICES = 1000
RELEASE_NAMES_REPORTER_RULE = "d8-release-names-reporter"


@dataclass(frozen=True)
class FreeTextItem:
    """One free-text item of the copy, for the reviewer (who may read it)."""

    item: str  # ``document_title:<document id>`` or ``note:<note id>``
    kind: FreeTextKind
    document_id: str  # the row the item names: the document's id, or the note's id for kind ``note``
    category: str  # the document's category; "" for a note
    created_at: datetime
    text: str = field(repr=False)
    decision: ReviewDecision | None  # None: not reviewed, or the text changed since the review
    decided_at: datetime | None
    decided_by: str | None
    ground: WithholdingGround | None = None  # why it was withheld, when the reviewer said


@dataclass(frozen=True)
class ReviewedItem:
    item: str
    decision: ReviewDecision
    decided_at: datetime
    ground: WithholdingGround | None = None


def _ground_of(review: InzageItemReview | None, decision: ReviewDecision | None) -> WithholdingGround | None:
    if review is None or decision is not ReviewDecision.WITHHELD or not review.withheld_ground:
        return None
    return WithholdingGround(review.withheld_ground)


def _case_of(vault: Vault, request_id: str) -> str:
    with vault.db.session() as session:
        row = session.get(AccessRequest, request_id)
        if row is None:
            raise NotFound("no such access request")
        return row.case_id


def list_free_text(vault: Vault, ctx: Context, request_id: str) -> list[FreeTextItem]:
    """The free-text items of the copy for this request, with their text and current decision.

    Admitted as the export is (the case's staff, a stated purpose), audited with the request's id.
    """
    case_id = _case_of(vault, request_id)

    def build(session: Session, admission: Admission) -> list[FreeTextItem]:
        reviews = review_state(session, request_id)
        listed, _medical = copy_documents(session, case_id)
        items: list[FreeTextItem] = []
        for doc in listed:
            if not doc.title_enc:
                continue
            item = item_id(FreeTextKind.DOCUMENT_TITLE, doc.id)
            review = reviews.get(item)
            decision = effective_decision(review, doc.title_enc)
            items.append(
                FreeTextItem(
                    item=item,
                    kind=FreeTextKind.DOCUMENT_TITLE,
                    document_id=doc.id,
                    category=doc.category,
                    created_at=doc.created_at,
                    text=decrypt_case_field(
                        admission, table="documents", column="title", row_id=doc.id, value=doc.title_enc
                    ),
                    decision=decision,
                    decided_at=review.decided_at if review and decision else None,
                    decided_by=review.decided_by if review and decision else None,
                    ground=_ground_of(review, decision),
                )
            )
        for note in notes_of_case(session, case_id):
            item = item_id(FreeTextKind.NOTE, note.id)
            review = reviews.get(item)
            decision = effective_decision(review, note.text_enc)
            items.append(
                FreeTextItem(
                    item=item,
                    kind=FreeTextKind.NOTE,
                    document_id=note.id,
                    category="",
                    created_at=note.created_at,
                    text=open_note(admission, note),
                    decision=decision,
                    decided_at=review.decided_at if review and decision else None,
                    decided_by=review.decided_by if review and decision else None,
                    ground=_ground_of(review, decision),
                )
            )
        return items

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.EXPORT, category=Category.SUBJECTS, purpose=PURPOSE),
        tag=AuditTag.RIGHTS_INZAGE_ITEMS_LISTED,
        object_type="access_request",
        object_id=request_id,
        then=build,
    )


_Choice = tuple[ReviewDecision, WithholdingGround | None]


def _parse_choices(
    choices: Mapping[str, ReviewDecision | str], grounds: Mapping[str, WithholdingGround | str]
) -> dict[tuple[FreeTextKind, str], _Choice]:
    if not choices:
        raise InvalidInput("name at least one free-text item to review")
    if len(choices) > _MAX_CHOICES:
        raise InvalidInput(f"review at most {_MAX_CHOICES} items at once")
    if set(grounds) - set(choices):
        raise InvalidInput("a ground is given only with a decision on the same item")
    parsed: dict[tuple[FreeTextKind, str], _Choice] = {}
    for item, decision in choices.items():
        try:
            chosen = ReviewDecision(decision)
            ground = WithholdingGround(grounds[item]) if item in grounds else None
        except ValueError:
            raise InvalidInput("a decision is released or withheld, a ground one of the listed") from None
        if ground is not None and chosen is not ReviewDecision.WITHHELD:
            raise InvalidInput("a ground is given only for a withheld item")
        parsed[parse_item(item)] = (chosen, ground)
    return parsed


def _refuse_naming_the_reporter(
    session: Session,
    admission: Admission,
    case_id: str,
    parsed: dict[tuple[FreeTextKind, str], _Choice],
) -> None:
    """D8, D22: a release of text that names the case's recorded reporter (whole words, case- and
    accent-insensitive) is refused, unless the reporter's consent or a professional's release is
    recorded (rule ``d8-release-names-reporter``, audited; the text and the name stay out of it)."""
    released = {key for key, (decision, _ground) in parsed.items() if decision is ReviewDecision.RELEASED}
    if not released:
        return
    mentions = reporter_mentions(session, admission, case_id)
    texts = [
        decrypt_case_field(admission, table="documents", column="title", row_id=d.id, value=d.title_enc)
        for d in copy_documents(session, case_id)[0]
        if d.title_enc and (FreeTextKind.DOCUMENT_TITLE, d.id) in released
    ]
    texts += [
        open_note(admission, n)
        for n in notes_of_case(session, case_id)
        if (FreeTextKind.NOTE, n.id) in released
    ]
    if any(mentions.named_in(text) for text in texts):
        raise RuleRefused(
            Conflict("a text to release names the reporter: withhold it"), RELEASE_NAMES_REPORTER_RULE
        )


def _names_request(details: str | None, request_id: str) -> bool:
    try:
        return bool(json.loads(details or "{}").get("access_request_id") == request_id)
    except (ValueError, AttributeError):
        return False


_DECIDED = (str(AuditTag.RIGHTS_INZAGE_ITEM_RELEASED), str(AuditTag.RIGHTS_INZAGE_ITEM_WITHHELD))


def last_copy_and_review(session: Session, request: AccessRequest) -> tuple[int | None, int | None]:
    """D13, D22: the log position of the last inzage copy made for this request (an allowed export of
    its subject's data whose entry names the request, ``inzage.export_for_subject``) and of the last
    review decision on one of its free-text items; None where there is none. A copy answers the request
    only when it was made after the last decision: one made before withheld what was decided since."""
    copies = session.execute(
        select(AuditEntry.seq, AuditEntry.details).where(
            AuditEntry.case_id == request.case_id,
            AuditEntry.tag == str(AuditTag.RIGHTS_INZAGE_EXPORTED),
            AuditEntry.decision == str(Decision.ALLOW),
            AuditEntry.object_id == request.subject_id,
        )
    )
    reviews = session.execute(
        select(AuditEntry.seq, AuditEntry.details).where(
            AuditEntry.case_id == request.case_id,
            AuditEntry.tag.in_(_DECIDED),
            AuditEntry.decision == str(Decision.ALLOW),
        )
    )
    copied = [seq for seq, details in copies if _names_request(details, request.id)]
    reviewed = [seq for seq, details in reviews if _names_request(details, request.id)]
    return (max(copied) if copied else None), (max(reviewed) if reviewed else None)


def unreviewed_items(session: Session, case_id: str, request_id: str) -> int:
    """D13, D22: how many free-text items of the copy have no decision for their current text (a
    request is answered only when none is left: "not reviewed" is no ground to withhold)."""
    reviews = review_state(session, request_id)
    sealed = [(FreeTextKind.DOCUMENT_TITLE, d.id, d.title_enc) for d in copy_documents(session, case_id)[0]]
    sealed += [(FreeTextKind.NOTE, n.id, n.text_enc) for n in notes_of_case(session, case_id)]
    return sum(
        1
        for kind, ref, value in sealed
        if value and effective_decision(reviews.get(item_id(kind, ref)), value) is None
    )


def review_free_text(
    vault: Vault,
    ctx: Context,
    request_id: str,
    choices: Mapping[str, ReviewDecision | str],
    grounds: Mapping[str, WithholdingGround | str] | None = None,
) -> list[ReviewedItem]:
    """Release or withhold free-text items of the copy for this request (a later decision replaces
    an earlier one), a withheld one with its ground if given (D13: the copy names it). Releasing needs
    a recent step-up. Audited per item with ids and codes only."""
    parsed = _parse_choices(choices, grounds or {})
    releases = any(d is ReviewDecision.RELEASED for d, _ground in parsed.values())
    if releases and ctx.role != "operator" and not ctx.stepped_up_within(vault.settings.step_up_minutes):
        raise StepUpRequired("releasing free text into an inzage copy needs a recent second-factor check")
    case_id = _case_of(vault, request_id)

    def apply(session: Session, admission: Admission) -> list[ReviewedItem]:
        request = session.get(AccessRequest, request_id)
        assert request is not None
        if request.completed_at is not None:
            raise Conflict("this access request was already answered; its review is closed")
        # What each kind of item names, and its stored (sealed) text a decision is bound to.
        stored: dict[FreeTextKind, dict[str, bytes]] = {
            FreeTextKind.DOCUMENT_TITLE: {
                doc.id: doc.title_enc for doc in copy_documents(session, case_id)[0] if doc.title_enc
            },
            FreeTextKind.NOTE: {note.id: note.text_enc for note in notes_of_case(session, case_id)},
        }
        reviews = review_state(session, request_id)
        _refuse_naming_the_reporter(session, admission, case_id, parsed)
        now = ctx.now()
        done: list[ReviewedItem] = []
        for (kind, ref), (decision, ground) in sorted(parsed.items()):
            sealed = stored.get(kind, {}).get(ref)
            if sealed is None:
                raise NotFound("no such free-text item in this inzage copy")
            item = item_id(kind, ref)
            row = reviews.get(item)
            if row is None:
                row = InzageItemReview(
                    id=str(uuid.uuid4()), access_request_id=request_id, item_kind=str(kind), item_ref=ref
                )
                session.add(row)
            row.decision = str(decision)
            row.withheld_ground = str(ground) if ground else None
            row.reviewed_sha256 = stored_digest(sealed)
            row.decided_at = now
            row.decided_by = ctx.actor_id
            record(
                session,
                ctx,
                AuditTag.RIGHTS_INZAGE_ITEM_RELEASED
                if decision is ReviewDecision.RELEASED
                else AuditTag.RIGHTS_INZAGE_ITEM_WITHHELD,
                case_id=case_id,
                object_type=str(kind),
                object_id=ref,
                details={"access_request_id": request_id} | ({"ground": str(ground)} if ground else {}),
            )
            done.append(ReviewedItem(item, decision, now, ground))
        session.flush()
        return done

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.WRITE),
        tag=AuditTag.RIGHTS_INZAGE_REVIEWED,
        object_type="access_request",
        object_id=request_id,
        then=apply,
    )
