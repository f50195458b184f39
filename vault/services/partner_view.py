"""What a partner sees (D22, D23): the inbox of live disclosures and the organisation's retrievals.

A partner sees each disclosure by the case reference both sides quote (VT-XXXX-XXXX), the title staff
chose for the partner when sharing (``None`` here: the page shows the default "categorie – datum"),
the purpose (both sealed under the case key, opened by ``gate.partner_texts`` with one key unwrap),
validity, retrievals left and the Veilig Thuis contact for the warm handover. Never an
internal document title, an original file name or an id a person would have to read. Both lists are
audited reads (``disclosure:inbox:listed``, ``disclosure:history:read``) with ids only; anyone but a
partner with a verified second factor is refused, and that is audited too (``dossier:access:denied``).
A destroyed case's disclosures leave the inbox; the history keeps its retrievals (reference, category,
date).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import record_many
from vault.context import Context
from vault.domain import AuditTag, Category, Role, reference_of
from vault.domain import Decision as Effect
from vault.errors import Destroyed, Forbidden
from vault.models import AuditEntry, Case, Document, Grant, User
from vault.repositories import access as access_repo
from vault.runtime import Vault
from vault.services.copy_kind import REFUSE
from vault.services.disclosures import GrantView, grant_view
from vault.services.gate import partner_texts
from vault.services.gate_versions import shared_copy_kind
from vault.services.gate_vocabulary import FieldOpener
from vault.services.reporter_mentions import mentions_with
from vault.services.worklists import refuse_listing
from vault.transaction import transaction

__all__ = ["HISTORY_LIMIT", "InboxItem", "Retrieval", "partner_inbox", "retrieval_history"]

HISTORY_LIMIT = 200
_PARTNERS_ONLY = "only a partner with a verified second factor sees its disclosures"
# D8: shown instead of a purpose that names the reporter (sealed before sharing checked the texts)
PURPOSE_HELD_BACK = "Niet getoond. Vraag Veilig Thuis naar het doel van deze verstrekking."


@dataclass(frozen=True)
class InboxItem:
    grant: GrantView
    reference: str  # VT-XXXX-XXXX (D23)
    title: str | None  # typed by staff for the partner (D22); None: the default "categorie – datum"
    contact_name: str | None  # the Veilig Thuis contact for the warm handover (D23)
    contact_phone: str | None
    # (document id, category, retrievable) reachable through this grant; not retrievable: the version
    # the grant shares (``gate_versions``) is of a kind a partner's copy cannot be cleaned of
    # (``copy_kind``), the gate refuses it
    documents: tuple[tuple[str, str, bool], ...]

    @property
    def retrievals_left(self) -> int:
        return max(0, self.grant.max_retrievals - self.grant.retrievals_used)


@dataclass(frozen=True)
class Retrieval:
    """One retrieval by the partner's organisation: when, under which disclosure, by whom."""

    at: datetime
    reference: str
    title: str | None
    categories: tuple[str, ...]
    disclosed_at: datetime | None
    user: str
    category: str | None


def _partner_org(session: Session, ctx: Context, attempted: AuditTag) -> str:
    """The organisation of the acting partner (as the database has it) with a verified second factor.
    Anyone else is refused: the denial of ``attempted`` (ids and rule only) is recorded in the caller's
    ``transaction``, which commits it and then raises."""
    actor = access_repo.actor_facts(session, ctx)
    if actor is None or not actor.second_factor_verified:
        refuse_listing(session, ctx, attempted, Forbidden(_PARTNERS_ONLY), "d17-second-factor")
    if actor.role is not Role.PARTNER or actor.org_id is None:
        refuse_listing(session, ctx, attempted, Forbidden(_PARTNERS_ONLY), "list-partner-only")
    return actor.org_id


def _names_reporter(session: Session, grant: Grant, opened: FieldOpener) -> Callable[[str], bool]:
    """D8: whether a text names the case's reporter, who is not disclosed to this partner. Sharing refuses
    such a title or purpose (``disclosures``); this holds back one sealed before that check."""
    if grant.reporter_identity_released:
        return lambda _text: False
    return mentions_with(session, grant.case_id, opened).named_in


def _texts(session: Session, vault: Vault, ctx: Context, grant: Grant) -> dict[str, str]:
    """The grant's sealed partner title and purpose, opened for the partner (D22); an absent title means
    the default, an absent purpose the clear one of a grant made before migration 0027, a purpose held
    back (D8) ``PURPOSE_HELD_BACK``."""
    try:
        texts = partner_texts(session, vault, ctx, grant, _names_reporter)
    except Destroyed:
        return {}  # the case was destroyed since: its key is gone, the default stands in
    if (grant.purpose_enc is not None or grant.purpose) and "purpose" not in texts:  # a clear one too
        texts["purpose"] = PURPOSE_HELD_BACK
    return texts


def _on_each_case(session: Session, ctx: Context, tag: AuditTag, grants: list[Grant]) -> None:
    """D15: a listing shows each case's reference, partner title and purpose, so it is on each case's
    access report too (one entry per disclosure shown, in one batch), besides the organisation's."""
    items = [(ctx, tag, {"case_id": g.case_id, "object_type": "grant", "object_id": g.id}) for g in grants]
    record_many(session, items)


def partner_inbox(vault: Vault, ctx: Context) -> list[InboxItem]:
    """What was disclosed to the actor's organisation and is still live (its case not destroyed);
    audited as one listing of the organisation and on each case shown."""
    now = ctx.now()
    items: list[InboxItem] = []
    with transaction(vault.db) as session:
        org_id = _partner_org(session, ctx, AuditTag.DISCLOSURE_INBOX_LISTED)
        grants = session.scalars(
            select(Grant)
            .join(Case, Case.id == Grant.case_id)
            .where(
                Case.destroyed_at.is_(None),
                Grant.org_id == org_id,
                Grant.revoked_at.is_(None),
                Grant.valid_from <= now,
                Grant.valid_until > now,
                Grant.retrievals_used < Grant.max_retrievals,
                access_repo.basis_in_force(now),  # D9: the municipality's lapses with the board's request
            )
            .order_by(Grant.created_at)
        ).all()
        record(
            session,
            ctx,
            AuditTag.DISCLOSURE_INBOX_LISTED,
            object_type="organisation",
            object_id=org_id,
            details={"grants": len(grants)},
        )
        _on_each_case(session, ctx, AuditTag.DISCLOSURE_INBOX_LISTED, list(grants))
        for grant in grants:
            texts = _texts(session, vault, ctx, grant)
            view = grant_view(session, grant, purpose=texts.get("purpose", grant.purpose))
            cats = [c for c in view.categories if c != Category.MEDICAL]
            docs = session.execute(
                # D22: the kind of the version this grant shares (``gate_versions``), the one a read gets
                select(Document.id, Document.category, shared_copy_kind(grant.created_at))
                .where(
                    Document.case_id == grant.case_id,
                    (Document.category.in_(cats)) | (Document.id.in_(view.document_ids)),
                )
                .order_by(Document.created_at)
            ).all()
            items.append(
                InboxItem(
                    grant=view,
                    reference=reference_of(grant.case_id),
                    title=texts.get("partner_title"),
                    contact_name=grant.contact_name,
                    contact_phone=grant.contact_phone,
                    documents=tuple((d, c, kind != REFUSE) for d, c, kind in docs),
                )
            )
    return items


def retrieval_history(vault: Vault, ctx: Context, *, limit: int = HISTORY_LIMIT) -> list[Retrieval]:
    """The organisation's own retrievals, newest first, from the audit log (ids turned into names
    here); audited as a read (``disclosure:history:read``)."""
    with transaction(vault.db) as session:
        org_id = _partner_org(session, ctx, AuditTag.DISCLOSURE_HISTORY_READ)
        rows = session.execute(
            select(
                AuditEntry.seq,
                AuditEntry.occurred_at,
                AuditEntry.actor_id,
                AuditEntry.object_id,
                AuditEntry.details,
            )
            .where(
                AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_READ),
                AuditEntry.decision == str(Effect.ALLOW),
                AuditEntry.actor_org_id == org_id,
            )
            .order_by(AuditEntry.seq.desc())
            .limit(limit)
        ).all()
        rows = _received(session, org_id, rows)
        record(
            session,
            ctx,
            AuditTag.DISCLOSURE_HISTORY_READ,
            object_type="organisation",
            object_id=org_id,
            details={"entries": len(rows)},
        )
        grant_ids = {_grant_id(r.details) for r in rows} - {None}
        grants = {
            g.id: g
            for g in session.scalars(select(Grant).where(Grant.id.in_(grant_ids), Grant.org_id == org_id))
        }
        users = _usernames(session, org_id, {r.actor_id for r in rows if r.actor_id})
        doc_ids = {r.object_id for r in rows if r.object_id}
        found = session.execute(select(Document.id, Document.category).where(Document.id.in_(doc_ids)))
        categories: dict[str, str] = {row.id: row.category for row in found}
        _on_each_case(session, ctx, AuditTag.DISCLOSURE_HISTORY_READ, list(grants.values()))
        # The history shows titles, never purposes: only a titled grant's key is unwrapped (D22).
        titled = (g for g in grants.values() if g.partner_title_enc is not None)
        titles = {g.id: _texts(session, vault, ctx, g).get("partner_title") for g in titled}
        views = {gid: grant_view(session, g, purpose="") for gid, g in grants.items()}
        history: list[Retrieval] = []
        for r in rows:
            grant = grants.get(_grant_id(r.details) or "")
            if grant is None:
                continue  # not under a grant of this organisation: not theirs to see
            history.append(
                Retrieval(
                    at=r.occurred_at,
                    reference=reference_of(grant.case_id),
                    title=titles.get(grant.id),
                    categories=views[grant.id].categories,
                    disclosed_at=grant.created_at,
                    user=users.get(r.actor_id or "", "onbekende gebruiker"),
                    category=categories.get(r.object_id or ""),
                )
            )
    return history


def _received(session: Session, org_id: str, rows: Sequence[Any]) -> list[Any]:
    """D10, D16: the reads that were received: not one the store broke off before a byte went out
    (its ``dossier:document:read_failed`` entry names it, ``delivered`` = ``none``; the retrieval was
    given back, ``read_failures``). One broken off while streaming (``partial``) was received in part."""
    if not rows:
        return []
    failed = session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_READ_FAILED),
            AuditEntry.actor_org_id == org_id,
            AuditEntry.seq > min(r.seq for r in rows),
        )
    )
    undelivered = set()
    for details in failed:
        try:
            noted = json.loads(details or "{}")
        except ValueError:
            continue
        if isinstance(noted, dict) and noted.get("delivered") == "none":
            undelivered.add(noted.get("admitted_seq"))
    return [r for r in rows if r.seq not in undelivered]


def _grant_id(details: str) -> str | None:
    try:
        value = json.loads(details or "{}").get("grant_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _usernames(session: Session, org_id: str, ids: set[str]) -> dict[str, str]:
    rows = session.execute(select(User.id, User.username).where(User.id.in_(ids), User.org_id == org_id))
    return {row.id: row.username for row in rows}
