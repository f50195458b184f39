"""Consents recorded in a conversation (D2, D9) and their withdrawal.

A ``register_personal_data`` consent lets a help seeker's advice case hold identifying fields (D2); a
``share_with_partner`` consent names the one organisation it allows sharing with (D9). Withdrawing a
consent revokes every disclosure resting on it, in the same transaction.

Recording a consent, withdrawing one and seeing which disclosures rest on one are Veilig Thuis staff's
business (D9, D3): a consent is recorded by Veilig Thuis in a conversation with the person concerned and
is the legal basis of Veilig Thuis's own disclosures. The professional who asked advice (who may write
to their own advice case), or any other role that is not staff, neither creates such a basis nor takes
one away (which would revoke Veilig Thuis's disclosure). They are refused before the gate and before
anything is written, audited (``dossier:access:denied``, rule ``d9-consent-staff-only``, ids only).

Who may give a consent to share (D9, rule ``d9-consent-giver``, refused when recorded and again when a
disclosure or an extension rests on it): someone the dossier is about, never the alleged perpetrator or
"other"; on a help seeker's advice case only the help seeker themself (D2: "toestemming van de
hulpvrager", seed 000; ``consent_givers``, the one list the consent form offers too); and "the child"
only when the consent names the child (``subject_id``, a child subject of the case) and that child is,
by the recorded date of birth, at least 12 on the day (the age from which the project lets a child act
for themself, D13). The age is checked when the consent is recorded: it needs the case key, which the
disclosure decision that weighs the consent later does not hold (dates of birth are sealed), and
again at every correction of that child (``lapse_child_consents``: a consent the corrected facts no
longer carry lapses, with the disclosures resting on it). At use a child's consent must still name a
child of the case: one recorded before the child was named (migration 0033, ``subject_id`` NULL)
carries no disclosure or extension; the worker records it again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.domain import Action, AuditTag, CaseKind, OrgType
from vault.errors import Conflict, InvalidInput, NotFound
from vault.models import Case, Consent, Grant, Organisation, Subject
from vault.policy import Decision
from vault.runtime import Vault
from vault.services.calendar import local_date
from vault.services.documents import touch_case
from vault.services.gate import (
    Admission,
    GateRequest,
    RuleRefused,
    decrypt_case_field,
    gated_write,
    pass_gate,
    refuse_unless_staff,
)
from vault.services.person_fields import (
    CONSENT_GIVERS,
    CONSENT_WITHDRAWN,
    HELP_SEEKER_CONSENT,
    SHARE_CONSENT_GIVER,
    ConsentScope,
    Relation,
)

__all__ = [
    "CONSENT_STAFF_ONLY",
    "RestingGrant",
    "check_sharing_consent",
    "consent_givers",
    "grants_resting_on",
    "lapse_child_consents",
    "live_consent",
    "record_consent",
    "withdraw_consent",
]


CONSENT_STAFF_ONLY = "d9-consent-staff-only"  # consents are recorded and withdrawn by staff (D9)
CHILD_CONSENT_LAPSED = "d9-child-consent-lapsed"  # a correction shows the child could not consent
CHILD_CONSENT_AGE = 12  # D9, as D13 (``rights.REPRESENTED_BELOW_AGE``): a child under 12 does not consent


def _refuse_unless_staff(vault: Vault, ctx: Context, case_id: str, attempted: AuditTag) -> None:
    """D9: only Veilig Thuis staff record, withdraw or weigh a consent; anyone else is refused before
    anything is written (``gate.refuse_unless_staff``: audited, rule ``d9-consent-staff-only``, 403)."""
    refuse_unless_staff(
        vault,
        ctx,
        case_id,
        rule=CONSENT_STAFF_ONLY,
        reason="consents are recorded and withdrawn by Veilig Thuis staff (D9)",
        attempted=attempted,
    )


def _case(session: Session, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("no such case")
    return case


def live_consent(
    session: Session,
    case_id: str,
    scope: ConsentScope,
    consent_id: str | None = None,
    *,
    own_only: bool = False,
) -> Consent | None:
    """The newest unwithdrawn consent of ``scope`` (``consent_id``: that one). ``own_only``: only one
    given by whom the scope allows (``CONSENT_GIVERS``; D2), whenever it was recorded."""
    stmt = select(Consent).where(
        Consent.case_id == case_id, Consent.scope == str(scope), Consent.withdrawn_at.is_(None)
    )
    if consent_id is not None:
        stmt = stmt.where(Consent.id == consent_id)
    if own_only and scope in CONSENT_GIVERS:
        stmt = stmt.where(Consent.given_by.in_(sorted(CONSENT_GIVERS[scope])))
    return session.scalars(stmt.order_by(Consent.recorded_at.desc()).limit(1)).first()


def consent_givers(case_kind: str, scope: ConsentScope) -> frozenset[Relation]:
    """D2, D9: who may give a consent of ``scope`` on a case of ``case_kind`` — the one list that the
    recording, the later check of a disclosure resting on it, and the consent form all use. A help
    seeker's advice case: the help seeker only, whatever the scope (D2: "toestemming van de
    hulpvrager"); otherwise ``CONSENT_GIVERS`` (never the alleged perpetrator or "other")."""
    givers = CONSENT_GIVERS[ConsentScope(scope)]
    if case_kind == CaseKind.ADVICE_HELP_SEEKER:
        return givers & {Relation.HELP_SEEKER}
    return givers


def record_consent(
    vault: Vault,
    ctx: Context,
    case_id: str,
    *,
    scope: ConsentScope,
    given_by: Relation,
    recipient_org_id: str | None = None,
    subject_id: str | None = None,
) -> str:
    """Record a consent given in a conversation: who recorded it (the actor), when, and its scope.

    D9: a ``share_with_partner`` consent names the one organisation it allows sharing with (a person
    consents to sharing with someone in particular); a ``register_personal_data`` consent names none.
    D2: a ``register_personal_data`` consent is the help seeker's own: given by anyone else it is
    refused (rule ``d2-help-seeker-consent``, audited). D9: a ``share_with_partner`` consent is given
    by someone the dossier is about, never the alleged perpetrator or "other" (``d9-consent-giver``).
    D9, D13: a consent to share given by the child names that child (``subject_id``, a child subject of
    this case, 12 or older today by the recorded date of birth; else ``d9-consent-giver``, audited); no
    other consent names a subject (400 before anything is written). The audit entry (the gate's) names
    the consent id; scope, giver, recipient and child are in the row. Staff only
    (``d9-consent-staff-only``)."""
    _refuse_unless_staff(vault, ctx, case_id, AuditTag.DOSSIER_CONSENT_RECORDED)
    scope = ConsentScope(scope)
    given_by = Relation(given_by)
    if (scope is ConsentScope.SHARE_WITH_PARTNER) != (recipient_org_id is not None):
        raise InvalidInput("a consent to share names its recipient organisation; no other consent does")
    if (scope is ConsentScope.SHARE_WITH_PARTNER and given_by is Relation.CHILD) != (subject_id is not None):
        raise InvalidInput(
            "a consent to share given by the child names that child; no other consent names a subject",
            rule=SHARE_CONSENT_GIVER,
        )
    consent_id = str(uuid.uuid4())

    def write(session: Session, admission: Admission) -> str:
        case = _case(session, case_id)
        if given_by not in consent_givers(case.kind, scope):
            if scope is ConsentScope.SHARE_WITH_PARTNER and case.kind == CaseKind.ADVICE_HELP_SEEKER:
                raise RuleRefused(
                    InvalidInput(
                        "on a help seeker's advice case only the help seeker consents to sharing (D2, D9)",
                        rule=SHARE_CONSENT_GIVER,
                    ),
                    SHARE_CONSENT_GIVER,
                )
            if scope is ConsentScope.SHARE_WITH_PARTNER:
                raise RuleRefused(
                    InvalidInput(
                        "a consent to share is given by someone the dossier is about, not by the alleged "
                        "perpetrator or another person (D9)",
                        rule=SHARE_CONSENT_GIVER,
                    ),
                    SHARE_CONSENT_GIVER,
                )
            raise RuleRefused(
                InvalidInput(
                    "only the help seeker themself consents to registering their personal data (D2)",
                    rule=HELP_SEEKER_CONSENT,
                ),
                HELP_SEEKER_CONSENT,
            )
        if subject_id is not None:
            problem = _child_problem(session, admission, case, subject_id, local_date(ctx.now()))
            if problem is not None:
                raise RuleRefused(InvalidInput(problem, rule="d9-consent-giver"), SHARE_CONSENT_GIVER)
        if recipient_org_id is not None:
            org = session.get(Organisation, recipient_org_id)
            if org is None or org.org_type == OrgType.VEILIG_THUIS:
                raise NotFound("no such recipient organisation")
        consent = Consent(
            id=consent_id,
            case_id=case_id,
            scope=str(scope),
            given_by=str(given_by),
            recorded_at=ctx.now(),
            recorded_by=ctx.actor_id or "unknown",
            recipient_org_id=recipient_org_id,
            subject_id=subject_id,
        )
        session.add(consent)
        touch_case(case, ctx)
        session.flush()
        return consent.id

    return gated_write(
        vault,
        ctx,
        case_id,
        category=None,
        tag=AuditTag.DOSSIER_CONSENT_RECORDED,
        object_type="consent",
        object_id=consent_id,
        then=write,
    )


def _child_problem(
    session: Session, admission: Admission, case: Case, subject_id: str, today: date
) -> str | None:
    """D9, D13: why the named child cannot give a consent to share this case (a message naming no one),
    or None: it is a child subject of this case, with a recorded date of birth, ``CHILD_CONSENT_AGE``
    or older today. A subject of another case is answered as one that is no child (D21: no probing)."""
    child = session.get(Subject, subject_id)
    if child is None or child.case_id != case.id or child.relation != Relation.CHILD:
        return "a consent given by the child names a child of this case (D9)"
    age = _age_on(admission, child, today)
    if age is None or age < CHILD_CONSENT_AGE:
        return (
            f"a child consents to sharing only from {CHILD_CONSENT_AGE}, by the child's recorded date of "
            "birth (D9, D13)"
        )
    return None


def lapse_child_consents(
    session: Session, ctx: Context, admission: Admission, case: Case, subject_id: str
) -> int:
    """D9, D13: after a correction of ``subject_id``, the live consents to share given by that child
    are weighed again; one the corrected facts no longer carry (no longer a child of the case, no
    recorded date of birth, or under ``CHILD_CONSENT_AGE`` today) lapses in the same transaction: it is
    withdrawn (``dossier:consent:withdrawn``, rule ``d9-child-consent-lapsed``, ids only) and every
    disclosure resting on it is revoked, as at a withdrawal. Returns how many lapsed."""
    consents = session.scalars(
        select(Consent)
        .where(
            Consent.case_id == case.id,
            Consent.subject_id == subject_id,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.recorded_at, Consent.id)
    ).all()
    today = local_date(ctx.now())
    lapsed = [c for c in consents if _child_problem(session, admission, case, subject_id, today)]
    for consent in lapsed:
        consent.withdrawn_at = ctx.now()
        record(
            session,
            ctx,
            AuditTag.DOSSIER_CONSENT_WITHDRAWN,
            case_id=case.id,
            object_type="consent",
            object_id=consent.id,
            rule=CHILD_CONSENT_LAPSED,
            details={"subject_id": subject_id, "reason": CHILD_CONSENT_LAPSED},
        )
        _revoke_grants_resting_on(session, ctx, consent)
    return len(lapsed)


def _age_on(admission: Admission, subject: Subject, day: date) -> int | None:
    """The subject's age on ``day`` by the recorded date of birth, or None when none is recorded."""
    if subject.date_of_birth_enc is None:
        return None
    born = date.fromisoformat(
        decrypt_case_field(
            admission,
            table="subjects",
            column="date_of_birth",
            row_id=subject.id,
            value=subject.date_of_birth_enc,
        )
    )
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def withdraw_consent(vault: Vault, ctx: Context, case_id: str, consent_id: str) -> None:
    """A consent can be withdrawn; data registered under it stays (deletion is a separate request, D12).

    D9: every disclosure (grant) resting on it is revoked in the same transaction, each with its own
    ``disclosure:grant:revoked`` entry (grant id, reason code ``consent-withdrawn``; no personal data).
    Staff only (``d9-consent-staff-only``): no one else takes away the basis of Veilig Thuis's sharing."""
    _refuse_unless_staff(vault, ctx, case_id, AuditTag.DOSSIER_CONSENT_WITHDRAWN)

    def write(session: Session, admission: Admission) -> None:
        consent = session.get(Consent, consent_id)
        if consent is None or consent.case_id != case_id:
            raise NotFound("no such consent")
        if consent.withdrawn_at is not None:
            raise Conflict("this consent was already withdrawn")
        consent.withdrawn_at = ctx.now()
        _revoke_grants_resting_on(session, ctx, consent)
        touch_case(_case(session, case_id), ctx)

    gated_write(
        vault,
        ctx,
        case_id,
        category=None,
        tag=AuditTag.DOSSIER_CONSENT_WITHDRAWN,
        object_type="consent",
        object_id=consent_id,
        then=write,
    )


def _revoke_grants_resting_on(session: Session, ctx: Context, consent: Consent) -> None:
    grants = session.scalars(
        select(Grant)
        .where(Grant.consent_id == consent.id, Grant.revoked_at.is_(None))
        .order_by(Grant.created_at, Grant.id)
    ).all()
    for grant in grants:
        grant.revoked_at = ctx.now()
        record(
            session,
            ctx,
            AuditTag.DISCLOSURE_GRANT_REVOKED,
            case_id=grant.case_id,
            object_type="grant",
            object_id=grant.id,
            rule="d9-consent-withdrawn",
            details={"org_id": grant.org_id, "consent_id": consent.id, "reason": CONSENT_WITHDRAWN},
        )
    session.flush()


def check_sharing_consent(session: Session, *, case_id: str, consent_id: str, org_id: str) -> Decision:
    """D9: does the recorded consent ``consent_id`` of this case allow sharing with ``org_id`` now?

    It must be a consent of this case, of scope ``share_with_partner``, naming that organisation, not
    withdrawn, and given by whom it may be on this case (``consent_givers``; recorded before a rule).
    A child's consent must name a child of the case (``subject_id``): one recorded before the child was
    named carries nothing (``d9-consent-giver``: record it again). The child's age is not weighed again
    here: it was checked when recorded, and this decision holds no case key to open a date of birth
    (a child only grows older). Fails closed; the rule names which condition failed."""
    consent = session.get(Consent, consent_id)
    if consent is None or consent.case_id != case_id:
        return Decision(
            False, "d9-consent-not-recorded", "the consent reference names no consent of this case"
        )
    if consent.scope != ConsentScope.SHARE_WITH_PARTNER or consent.recipient_org_id != org_id:
        return Decision(False, "d9-consent-scope", "the recorded consent does not cover this recipient")
    if consent.withdrawn_at is not None:
        return Decision(False, "d9-consent-withdrawn", "the recorded consent was withdrawn")
    case = session.get(Case, case_id)
    # recorded before the rule; on a help seeker's advice case (D2, D9): the help seeker's only
    if case is None or consent.given_by not in consent_givers(case.kind, ConsentScope.SHARE_WITH_PARTNER):
        return Decision(False, SHARE_CONSENT_GIVER, "the recorded consent was not given by someone it may be")
    if consent.given_by == Relation.CHILD:
        child = session.get(Subject, consent.subject_id) if consent.subject_id is not None else None
        if child is None or child.case_id != case_id or child.relation != Relation.CHILD:
            return Decision(
                False,
                SHARE_CONSENT_GIVER,
                "the child's consent names no child of this case: record it again, naming the child",
            )
    return Decision(True, "d9-basis:consent", "a recorded consent covers sharing with this recipient")


@dataclass(frozen=True)
class RestingGrant:
    """A live disclosure resting on a consent: withdrawing the consent revokes it (ids only)."""

    grant_id: str
    org_id: str


def grants_resting_on(vault: Vault, ctx: Context, case_id: str, consent_id: str) -> list[RestingGrant]:
    """D9: the live disclosures that withdrawing ``consent_id`` would revoke — shown before the
    withdrawal is confirmed. A READ of the case through the gate (audited ``dossier:consent:read``).
    Staff only (``d9-consent-staff-only``): whom Veilig Thuis shared with, on which consent (D3)."""
    _refuse_unless_staff(vault, ctx, case_id, AuditTag.DOSSIER_CONSENT_READ)

    def read(session: Session, admission: Admission) -> list[RestingGrant]:
        consent = session.get(Consent, consent_id)
        if consent is None or consent.case_id != case_id:
            raise NotFound("no such consent")
        rows = session.execute(
            select(Grant.id, Grant.org_id)
            .where(Grant.consent_id == consent_id, Grant.revoked_at.is_(None))
            .order_by(Grant.created_at, Grant.id)
        )
        return [RestingGrant(grant_id, org_id) for grant_id, org_id in rows]

    return pass_gate(
        vault,
        ctx,
        GateRequest(case_id, Action.READ),
        tag=AuditTag.DOSSIER_CONSENT_READ,
        object_type="consent",
        object_id=consent_id,
        then=read,
    )
