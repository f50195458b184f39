"""Person lookup (D19) and re-identification of an advice client (D3).

``lookup_person``: "was this person known before?" — by BSN, or name + date of birth. The keyed blind
index is computed from the query and matched with one indexed query; no dossier is decrypted. Only
staff with a verified second factor may look up; every lookup is audited (tag
``dossier:person:lookup``) with how it searched and how many cases matched — nothing derived from the
person: once on each matched case (D15: the case's access report shows who found it), then once
without a case naming the first matched ids for the log review (D21). The answer holds case ids,
kinds, team and creation date only: never content.

Each actor's person lookups are limited (``LOOKUP_LIMITS``: 20 per 10 minutes, 100 per day): a lookup
answers "is this person known?", so an unlimited series enumerates what the actor did not know (a
child's date of birth, a BSN). The answered lookups are counted in ``auth_attempts`` (kind
``person_lookup``, account key = the actor's id; its kind + account + time index makes the count one
indexed range read on SQLite and PostgreSQL, and it holds across workers and restarts — no schema
change). Over a limit the lookup is refused before anything is looked up (``RateLimited``, 429) and
the refusal is audited as a denied lookup (rule ``d19-lookup-rate``, ids only). The lookups done when
a case is opened (``opening.earlier_advice``, ``opening.advice_signal``) are not counted: each needs a
new case in the actor's own team, itself recorded and audited. A report's signal asked again (the page
after opening reloaded, after its subjects were corrected to a guessed name and date of birth) is an
answer to "is this person known?" like any other and is counted (``take_lookup``, review session 18).

``reidentify_client``: given a client pseudonym (one-way), find the advice cases that carry it. Only
the roles in ``REIDENTIFY_ROLES`` (the team leader) may, with a reason from a fixed list; it is
audited with the pseudonym and the reason code once per matched case (once without a case when
nothing matched). Identifying data is shown only where a subject record exists in a case the actor
may read, and then only through the gate.

``reidentify_person``: "was this person the subject of earlier professional advice?" The team leader
enters the identifiers they have (BSN and/or name + date of birth), a reason code and a typed
explanation; the pseudonym of each identifier kind is derived and matched (an advice that recorded
both carries both). The answer: references, kinds, dates and teams — never anyone's data. Recorded
in ``client_reidentifications`` (code in clear, explanation sealed) with the matched case ids in
``client_reidentification_matches``, and audited once per matched case (ids and codes only, not even
the pseudonyms).

``forget_reidentifications``: D11 for that record. The explanation may name the person, so it lives no
longer than the cases it concerns: destroying a case erases the explanation of every
re-identification whose matched cases are then all destroyed (who, when, code and ids stay).
``forget_unmatched_reidentifications``: a re-identification that matched no case concerns no case, so
its explanation is kept ``UNMATCHED_EXPLANATION_KEPT`` (a year: the daily log review and a complaint
about the search in that time can read it), then erased by the retention sweep.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vault.audit import record
from vault.audit.log import record_many
from vault.audit.sealed import seal
from vault.auth.ratelimit import take_turn_on
from vault.context import Context
from vault.crypto.index import blind_index_bsn, blind_index_person
from vault.crypto.keys import SubkeyPurpose
from vault.domain import Action, AuditTag, Category, Role, reference_of
from vault.domain import Decision as Effect
from vault.errors import Forbidden, InvalidInput, RateLimited
from vault.models import AuthAttempt, Case, ClientReidentification, ClientReidentificationMatch
from vault.policy import Actor
from vault.repositories import access as access_repo
from vault.repositories import cases as cases_repo
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.case_view import SubjectView, read_subjects
from vault.services.cases import client_pseudonyms
from vault.services.gate import GateRequest, would_allow
from vault.services.subjects import PersonFields

__all__ = [
    "LOOKUP_LIMITS",
    "LOOKUP_RATE_RULE",
    "REIDENTIFY_ROLES",
    "UNMATCHED_EXPLANATION_KEPT",
    "LookupHit",
    "PersonReidentification",
    "Reidentification",
    "ReidentificationReason",
    "forget_reidentifications",
    "forget_unmatched_reidentifications",
    "lookup_person",
    "refuse_lookup",
    "reidentify_client",
    "reidentify_person",
    "take_lookup",
]

# D3: who may turn a client pseudonym back into a person. The team leader: lifting a professional's
# pseudonymisation is an organisational decision about the team's cases, not a medical one.
REIDENTIFY_ROLES = frozenset({Role.TEAMLEIDER})
_PSEUDONYM = re.compile(r"ps_[a-z2-7]{32}")
_EXPLANATION_MIN, _EXPLANATION_MAX = 10, 2000

# D19: at most this many answered person lookups per actor within each window (see the docstring).
LOOKUP_LIMITS: Final[tuple[tuple[int, timedelta], ...]] = (
    (20, timedelta(minutes=10)),
    (100, timedelta(days=1)),
)
_LOOKUP_KIND: Final = "person_lookup"
_LOOKUP_KEEP: Final = max(window for _, window in LOOKUP_LIMITS) + timedelta(hours=1)
LOOKUP_RATE_RULE: Final = "d19-lookup-rate"


class ReidentificationReason(StrEnum):
    """Why a client is re-identified (a code, so the audit entry holds no free text)."""

    ACUTE_SAFETY = "acute_safety"  # the risk is high and acute
    OWN_MOTION_REPORT = "own_motion_report"  # D4 conversion in preparation
    LINK_REPORT = "link_report"  # a report about the same person arrived
    SUBJECT_REQUEST = "subject_request"  # D13/D15: the person asks what is recorded


@dataclass(frozen=True)
class LookupHit:
    case_id: str
    reference: str  # VT-XXXX-XXXX, as people quote it
    kind: str
    team_id: str | None
    team_name: str | None
    created_on: date


@dataclass(frozen=True)
class Reidentification:
    pseudonym: str
    cases: list[LookupHit]
    subjects: dict[str, list[SubjectView]]  # case id -> subjects, only for cases the actor may read


@dataclass(frozen=True)
class PersonReidentification:
    reidentification_id: str
    cases: list[LookupHit]


# D21: the lookup's entry names (up to) the first five matched case ids (ids only, within the
# 200-character limit of a detail value), so the log review can tell whether work on a match followed.
_MAX_LOGGED_MATCHES = 5


def _matched_case_ids(rows: list[cases_repo.CaseRow]) -> str:
    """The ids of the first matched cases, comma-separated, for the lookup's audit entry."""
    return ",".join(r.case_id for r in rows[:_MAX_LOGGED_MATCHES])


def _audit_each_case(
    session: Session, ctx: Context, tag: AuditTag, case_ids: list[str | None], **fields: Any
) -> None:
    """D15: the same entry once on each case (one batch: a lookup may match up to 200 cases)."""
    record_many(session, [(ctx, tag, {"case_id": case_id, **fields}) for case_id in case_ids])


def _hits(rows: list[cases_repo.CaseRow]) -> list[LookupHit]:
    return [
        LookupHit(
            r.case_id, reference_of(r.case_id), r.kind, r.team_id, r.team_name, local_date(r.created_at)
        )
        for r in rows
    ]


def _denied(vault: Vault, ctx: Context, tag: AuditTag, rule: str, object_type: str) -> Forbidden:
    with vault.db.session() as session:
        record(
            session,
            ctx,
            AuditTag.DOSSIER_ACCESS_DENIED,
            object_type=object_type,
            decision=Effect.DENY,
            rule=rule,
            details={"attempted": str(tag)},
        )
    return Forbidden("this lookup is not allowed for you")


def _staff(actor: Actor | None, ctx: Context) -> bool:
    return (
        actor is not None
        and actor.role.is_staff
        and actor.second_factor_verified
        and ctx.second_factor_verified
    )


def _lookup_wait(session: Session, actor_id: str, now: datetime) -> int | None:
    """Seconds until the actor may look up again; None when every limit allows one more now."""
    times = list(
        session.scalars(
            select(AuthAttempt.occurred_at)
            .where(
                AuthAttempt.kind == _LOOKUP_KIND,
                AuthAttempt.account_key == actor_id,
                AuthAttempt.occurred_at > now - max(window for _, window in LOOKUP_LIMITS),
            )
            .order_by(AuthAttempt.occurred_at)
        )
    )
    wait: int | None = None
    for allowed, window in LOOKUP_LIMITS:
        recent = [t for t in times if t > now - window]
        if len(recent) >= allowed:
            # The lookup that has to leave the window before one more is allowed.
            frees_at = recent[len(recent) - allowed] + window
            seconds = max(1, math.ceil((frees_at - now).total_seconds()))
            wait = seconds if wait is None else max(wait, seconds)
    return wait


def _count_lookup(session: Session, actor_id: str, now: datetime) -> None:
    session.execute(
        delete(AuthAttempt).where(
            AuthAttempt.kind == _LOOKUP_KIND, AuthAttempt.occurred_at < now - _LOOKUP_KEEP
        )
    )
    session.add(AuthAttempt(id=str(uuid.uuid4()), kind=_LOOKUP_KIND, account_key=actor_id, occurred_at=now))


def take_lookup(session: Session, ctx: Context) -> int | None:
    """D19: count one person lookup of the (staff) actor, or the seconds to wait when a limit is
    reached (then nothing is counted). Call before the transaction's first audit entry."""
    now, actor_id = ctx.now(), str(ctx.actor_id)
    take_turn_on(session, "person-lookup", actor_id)
    wait = _lookup_wait(session, actor_id, now)
    if wait is None:
        _count_lookup(session, actor_id, now)
    return wait


def refuse_lookup(session: Session, ctx: Context, *, by: str, case_id: str | None = None) -> None:
    """D19: the audit entry of a lookup refused for its rate (ids and the identifier kinds only)."""
    record(
        session,
        ctx,
        AuditTag.DOSSIER_ACCESS_DENIED,
        case_id=case_id,
        object_type="person",
        decision=Effect.DENY,
        rule=LOOKUP_RATE_RULE,
        details={"attempted": str(AuditTag.DOSSIER_PERSON_LOOKUP), "by": by},
    )


def lookup_person(
    vault: Vault,
    ctx: Context,
    *,
    bsn: str | None = None,
    name: str | None = None,
    date_of_birth: date | None = None,
) -> list[LookupHit]:
    """D19: earlier cases of a person, without decrypting any dossier; audited."""
    if bsn is None and (name is None or date_of_birth is None):
        raise InvalidInput("look up by BSN, or by name and date of birth")
    key = vault.keys.subkey(SubkeyPurpose.BLIND_INDEX)
    bsn_index = blind_index_bsn(key, bsn) if bsn is not None else None
    person_index = (
        blind_index_person(key, name, date_of_birth)
        if name is not None and date_of_birth is not None
        else None
    )
    by = "+".join(k for k, v in (("bsn", bsn_index), ("name_dob", person_index)) if v)
    now, actor_id = ctx.now(), str(ctx.actor_id)
    wait: int | None = None
    with vault.db.session() as session:
        actor = access_repo.actor_facts(session, ctx)
        if _staff(actor, ctx):
            # Parallel lookups by one actor take turns between count and insert (PostgreSQL; SQLite's
            # transactions already do), before this transaction's first audit entry.
            take_turn_on(session, "person-lookup", actor_id)
            wait = _lookup_wait(session, actor_id, now)
        if wait is not None:
            record(
                session,
                ctx,
                AuditTag.DOSSIER_ACCESS_DENIED,
                object_type="person",
                decision=Effect.DENY,
                rule=LOOKUP_RATE_RULE,
                details={"attempted": str(AuditTag.DOSSIER_PERSON_LOOKUP), "by": by},
            )
        elif _staff(actor, ctx):
            _count_lookup(session, actor_id, now)
            rows = cases_repo.cases_by_index(session, bsn_index=bsn_index, person_index=person_index)
            # D15: an entry on each matched case, so its access report shows who found it. Written
            # before the entry the log review reads (D21, ``details.cases``): that review counts any
            # entry on a case as work on it, and work after the lookup would close it unflagged.
            _audit_each_case(
                session,
                ctx,
                AuditTag.DOSSIER_PERSON_LOOKUP,
                [r.case_id for r in rows],
                object_type="person",
                details={"by": by, "matches": len(rows)},
            )
            record(
                session,
                ctx,
                AuditTag.DOSSIER_PERSON_LOOKUP,
                object_type="person",
                details={"by": by, "matches": len(rows), "cases": _matched_case_ids(rows)},
            )
            return _hits(rows)
    if wait is not None:
        raise RateLimited("too many person lookups; try again later", retry_after=wait)
    raise _denied(vault, ctx, AuditTag.DOSSIER_PERSON_LOOKUP, "d19-staff-only", "person")


def reidentify_client(
    vault: Vault, ctx: Context, *, pseudonym: str, reason: ReidentificationReason
) -> Reidentification:
    """D3: pseudonym → the advice cases carrying it (+ subjects through the gate where readable)."""
    if not isinstance(pseudonym, str) or not _PSEUDONYM.fullmatch(pseudonym):
        raise InvalidInput("not a client pseudonym")
    reason = ReidentificationReason(reason)
    with vault.db.session() as session:
        actor = access_repo.actor_facts(session, ctx)
        allowed = _staff(actor, ctx) and actor is not None and actor.role in REIDENTIFY_ROLES
        rows: list[cases_repo.CaseRow] = []
        if allowed:
            rows = cases_repo.cases_with_pseudonym(session, pseudonym)
            # One entry per matched case, so each case's access report (D15) shows it.
            _audit_each_case(
                session,
                ctx,
                AuditTag.DOSSIER_CLIENT_REIDENTIFIED,
                [r.case_id for r in rows] or [None],
                object_type="pseudonym",
                object_id=pseudonym,
                purpose=str(reason),
                details={"reason": str(reason), "matches": len(rows)},
            )
    if not allowed:
        raise _denied(vault, ctx, AuditTag.DOSSIER_CLIENT_REIDENTIFIED, "d3-reidentify-role", "pseudonym")
    subjects: dict[str, list[SubjectView]] = {}
    for row in rows:
        if would_allow(vault, ctx, GateRequest(row.case_id, Action.READ, category=Category.SUBJECTS)):
            found = read_subjects(vault, ctx, row.case_id)
            if found:
                subjects[row.case_id] = found
    return Reidentification(pseudonym, _hits(rows), subjects)


def _seal_explanation(vault: Vault, row_id: str, explanation: str) -> bytes:
    # Not one case's content (it may concern several cases, or none): sealed under the vault's
    # metadata-field key, bound to its row, as other free-text reasons are bound to theirs. It is
    # erased when the cases it matched are destroyed (``forget_reidentifications``, D11).
    return seal(
        vault, table="client_reidentifications", column="explanation", row_id=row_id, text=explanation
    )


def reidentify_person(
    vault: Vault,
    ctx: Context,
    *,
    bsn: str | None = None,
    name: str | None = None,
    date_of_birth: date | None = None,
    reason: ReidentificationReason,
    explanation: str,
) -> PersonReidentification:
    """D3: the advice cases about this person, by each identifier kind given; team leader only."""
    reason = ReidentificationReason(reason)
    text = explanation.strip() if isinstance(explanation, str) else ""
    if not _EXPLANATION_MIN <= len(text) <= _EXPLANATION_MAX:
        raise InvalidInput(
            f"explain why, in {_EXPLANATION_MIN} to {_EXPLANATION_MAX} characters (it is stored sealed)"
        )
    if bsn is None and (name is None or date_of_birth is None):
        raise InvalidInput("re-identify by BSN, or by name and date of birth, or both")
    complete = name is not None and date_of_birth is not None
    pseudonyms = client_pseudonyms(
        vault,
        PersonFields(
            bsn=bsn, name=name if complete else None, date_of_birth=date_of_birth if complete else None
        ),
    )
    by = "+".join(sorted(pseudonyms))
    with vault.db.session() as session:
        actor = access_repo.actor_facts(session, ctx)
        allowed = _staff(actor, ctx) and actor is not None and actor.role in REIDENTIFY_ROLES
        if allowed:
            row_id = str(uuid.uuid4())
            rows = cases_repo.cases_with_pseudonym(session, list(pseudonyms.values()))
            session.add(
                ClientReidentification(
                    id=row_id,
                    actor_id=str(ctx.actor_id),
                    at=ctx.now(),
                    reason_code=str(reason),
                    explanation_enc=_seal_explanation(vault, row_id, text),
                    searched_by=by,
                    matches=len(rows),
                )
            )
            session.flush()  # the record before its matches (foreign key)
            session.add_all(
                ClientReidentificationMatch(reidentification_id=row_id, matched_case_id=r.case_id)
                for r in rows
            )
            # One entry per matched case, so each case's access report (D15) shows it.
            _audit_each_case(
                session,
                ctx,
                AuditTag.DOSSIER_CLIENT_REIDENTIFIED,
                [r.case_id for r in rows] or [None],
                object_type="reidentification",
                object_id=row_id,
                purpose=str(reason),
                details={"reason": str(reason), "by": by, "matches": len(rows)},
            )
            return PersonReidentification(row_id, _hits(rows))
    raise _denied(vault, ctx, AuditTag.DOSSIER_CLIENT_REIDENTIFIED, "d3-reidentify-role", "person")


def forget_reidentifications(session: Session, case_id: str) -> list[str]:
    """D11: the case is being destroyed; erase the sealed explanation of every re-identification that
    matched it and matches no live case besides. Returns the ids of the records whose explanation was
    erased.

    Call inside the destruction's transaction (``destruction.destroy_case``). The case counts as
    destroyed whether or not its ``destroyed_at`` is set yet; rerun, nothing more happens. The record
    stays — who, when, reason code, identifier kinds, the matched case ids — as its audit entries do.
    A re-identification that matched no case is about no case and is not touched here.
    """
    match = ClientReidentificationMatch
    of_case = select(match.reidentification_id).where(match.matched_case_id == case_id)
    live_elsewhere = (
        select(match.reidentification_id)
        .join(Case, Case.id == match.matched_case_id)
        .where(Case.id != case_id, Case.destroyed_at.is_(None))
    )
    ids = list(
        session.scalars(
            select(ClientReidentification.id).where(
                ClientReidentification.id.in_(of_case),
                ClientReidentification.id.not_in(live_elsewhere),
                ClientReidentification.explanation_enc.is_not(None),
            )
        )
    )
    if ids:
        session.execute(
            update(ClientReidentification)
            .where(ClientReidentification.id.in_(ids))
            .values(explanation_enc=None)
        )
    return ids


UNMATCHED_EXPLANATION_KEPT = timedelta(days=366)


def forget_unmatched_reidentifications(session: Session, now: datetime, *, dry_run: bool = False) -> int:
    """D11: erase the sealed explanation of every re-identification that matched no case and is older
    than ``UNMATCHED_EXPLANATION_KEPT``; returns how many (``dry_run``: how many would be). The record
    stays — who, when, reason code, identifier kinds, no matches — as its audit entry does."""
    due = (
        ClientReidentification.matches == 0,
        ClientReidentification.at <= now - UNMATCHED_EXPLANATION_KEPT,
        ClientReidentification.explanation_enc.is_not(None),
    )
    ids = list(session.scalars(select(ClientReidentification.id).where(*due)))
    if ids and not dry_run:
        session.execute(
            update(ClientReidentification)
            .where(ClientReidentification.id.in_(ids))
            .values(explanation_enc=None)
        )
    return len(ids)
