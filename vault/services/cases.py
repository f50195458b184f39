"""Opening cases of the three Veilig Thuis kinds (D1–D3, D5, D8) and the meldcode step.

- ``open_help_seeker_advice``: anonymous by default (D2); identifying data only later, after a
  recorded consent (`vault.services.subjects.add_subject`).
- ``open_professional_advice``: registered under the professional's name (owner, D3); the client is
  stored only as a keyed pseudonym, the meldcode step (1–5) is recorded.
- ``open_report``: a melding; the reporter's identity goes into its own sealed category (D8); the
  triage deadline is received + 5 Dutch working days (D5).
Creation is authorised here (staff of the team; a professional for their own advice) and audited;
later writes go through the gate (`vault.services.gate.gated_write`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.audit import record
from vault.context import Context
from vault.crypto.envelope import DataKey
from vault.crypto.index import pseudonym_for_client
from vault.crypto.keys import SubkeyPurpose
from vault.domain import AuditTag, CaseKind, Category, Role
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.models import Case, CaseWorkflow, Team, TeamMembership, User
from vault.repositories.identity import team_by_name
from vault.runtime import Vault
from vault.services.calendar import check_date, local_date, triage_deadline
from vault.services.documents import touch_case
from vault.services.gate import Admission, RuleRefused, gated_write
from vault.services.keyring import create_case_key
from vault.services.retention import destroy_after_for
from vault.services.subjects import (
    PersonFields,
    Relation,
    ReporterFields,
    seal_reporter_identity,
    seal_subjects,
)

__all__ = [
    "DEFAULT_LEGAL_BASIS",
    "MELDCODE_STEPS",
    "OpenedCase",
    "client_pseudonym",
    "client_pseudonyms",
    "intake_team",
    "open_case",
    "open_case_with_key",
    "open_help_seeker_advice",
    "open_professional_advice",
    "open_report",
    "opened",
    "record_meldcode_step",
    "set_client_pseudonyms",
]

# D1: Veilig Thuis processes these data for its statutory tasks without consent.
DEFAULT_LEGAL_BASIS = "wmo-5.1.6"
MELDCODE_STEPS = range(1, 6)  # D3, seed 004

_CREATORS = {Role.MEDEWERKER, Role.VERTROUWENSARTS, Role.TEAMLEIDER}


def _may_open(
    session: Session, ctx: Context, team_id: str | None, kind: CaseKind, owner_id: str | None
) -> bool:
    if ctx.role in {"system", "operator", "public_form"}:
        return True
    if ctx.actor_id is None or not ctx.second_factor_verified:
        return False
    if ctx.role == Role.PROFESSIONAL:
        # D3: a professional may register their own advice request (owner = themselves).
        return kind is CaseKind.ADVICE_PROFESSIONAL and owner_id == ctx.actor_id
    if ctx.role not in _CREATORS or team_id is None:
        return False
    member = session.scalar(
        select(TeamMembership.user_id).where(
            TeamMembership.user_id == ctx.actor_id, TeamMembership.team_id == team_id
        )
    )
    return member is not None


def fresh_case_id(session: Session, draw: Callable[[], uuid.UUID] | None = None) -> str:
    """D23: a new case id whose reference (its first 8 characters, ``reference_of``) no case holds yet,
    destroyed ones included. A reference is what a caller, partner or family quotes on the phone; two
    cases behind one would let staff open the wrong family's case. 32 bits collide by chance once a
    vault holds tens of thousands of cases (in 20 years' retention it does), so each draw is checked
    (an index range on the primary key)."""
    for _ in range(16):
        candidate = str(draw() if draw is not None else uuid.uuid4())
        prefix = candidate[:8]  # "-" and "." are neighbours in ASCII: the range holds exactly this prefix
        same = select(Case.id).where(Case.id >= f"{prefix}-", Case.id < f"{prefix}.").limit(1)
        taken = session.scalar(same)
        if taken is None:
            return candidate
    raise Conflict("no free case reference was found; try again")


def open_case_with_key(
    session: Session,
    vault: Vault,
    ctx: Context,
    *,
    kind: CaseKind,
    team_id: str | None,
    legal_basis: str,
    owner_id: str | None,
    received_at: datetime | None,
    dek: DataKey | None = None,
) -> tuple[Case, CaseWorkflow, DataKey]:
    """Open a case and hand back its new data key, for writers that seal content into the case they
    open in the same transaction (the report and intake paths). The key only encrypts: reading goes
    through the gate like any other read. ``dek``: a key made before the transaction, under which
    the caller already sealed a blob (``keyring.create_case_key``)."""
    if team_id is not None and session.get(Team, team_id) is None:
        raise NotFound("no such team")
    if team_id is None:
        raise InvalidInput("a case needs a responsible team")
    if not _may_open(session, ctx, team_id, kind, owner_id):
        raise Forbidden("only staff of the team may open a case for it")
    now = ctx.now()
    received = now if received_at is None else check_date(received_at, "received_at")
    if received > now:
        raise InvalidInput("received_at: the time received cannot lie in the future")
    case = Case(
        id=fresh_case_id(session),
        kind=str(kind),
        team_id=team_id,
        owner_id=owner_id,
        legal_basis=legal_basis,
        created_at=now,
        last_changed_at=now,
        destroy_after=destroy_after_for(now),
    )
    session.add(case)
    session.flush()
    workflow = CaseWorkflow(
        case_id=case.id,
        received_at=received,
        triage_due=triage_deadline(received) if kind is CaseKind.REPORT else None,
    )
    session.add(workflow)
    dek = create_case_key(session, ctx, vault.keys, case.id, dek)
    record(
        session,
        ctx,
        AuditTag.DOSSIER_CASE_CREATED,
        case_id=case.id,
        object_type="case",
        object_id=case.id,
        legal_basis=legal_basis,
        details={"kind": str(kind)},
    )
    return case, workflow, dek


def open_case(
    session: Session,
    vault: Vault,
    ctx: Context,
    *,
    kind: CaseKind,
    team_id: str | None,
    legal_basis: str = DEFAULT_LEGAL_BASIS,
    owner_id: str | None = None,
    received_at: datetime | None = None,
) -> Case:
    """A new case with its own random data key; staff open cases only for their own team."""
    case, _, _ = open_case_with_key(
        session,
        vault,
        ctx,
        kind=kind,
        team_id=team_id,
        legal_basis=legal_basis,
        owner_id=owner_id,
        received_at=received_at,
    )
    return case


def intake_team(session: Session, vault: Vault) -> str | None:
    """The team that receives what arrives without a team: ``VAULT_INTAKE_TEAM`` by name, else the
    first team created; ``None`` when there is no such team."""
    name = vault.settings.intake_team
    team = (
        team_by_name(session, name)
        if name
        else session.scalars(select(Team).order_by(Team.created_at, Team.name).limit(1)).first()
    )
    return team.id if team is not None else None


def open_help_seeker_advice(session: Session, vault: Vault, ctx: Context, *, team_id: str) -> Case:
    """D2: an advice case for a help seeker; anonymous — it holds no identifying field."""
    return open_case(session, vault, ctx, kind=CaseKind.ADVICE_HELP_SEEKER, team_id=team_id)


def client_pseudonym(vault: Vault, client: PersonFields) -> str:
    """D3: the keyed pseudonym of an advice client (BSN, else name + date of birth); one-way."""
    client = client.checked()
    return pseudonym_for_client(
        vault.keys.subkey(SubkeyPurpose.PSEUDONYM),
        bsn=client.bsn,
        name=client.name,
        date_of_birth=client.date_of_birth,
    )


def client_pseudonyms(vault: Vault, client: PersonFields) -> dict[str, str]:
    """D3: one keyed pseudonym per identifier kind given — ``bsn``, ``name_dob`` — so the client is
    found later by whichever identifiers the team leader has. Identifying data without a complete
    identifier (a name without a date of birth) is refused."""
    client = client.checked()
    key = vault.keys.subkey(SubkeyPurpose.PSEUDONYM)
    found: dict[str, str] = {}
    if client.bsn is not None:
        found["bsn"] = pseudonym_for_client(key, bsn=client.bsn, name=None, date_of_birth=None)
    if client.name is not None and client.date_of_birth is not None:
        found["name_dob"] = pseudonym_for_client(
            key, bsn=None, name=client.name, date_of_birth=client.date_of_birth
        )
    if client.identifying and not found:
        raise InvalidInput("a pseudonym needs a BSN, or a name and a date of birth")
    return found


def set_client_pseudonyms(vault: Vault, workflow: CaseWorkflow, client: PersonFields | None) -> None:
    """D3: the advice's client pseudonyms (the BSN one, else name + date of birth, as the client's
    pseudonym; the name + date of birth one beside it when both were given). Identifiers are dropped."""
    found = client_pseudonyms(vault, client) if client is not None else {}
    workflow.client_pseudonym = found.get("bsn") or found.get("name_dob")
    workflow.client_pseudonym_name_dob = found.get("name_dob") if "bsn" in found else None


def open_professional_advice(
    session: Session,
    vault: Vault,
    ctx: Context,
    *,
    professional_id: str,
    meldcode_step: int,
    team_id: str | None = None,
    client: PersonFields | None = None,
) -> Case:
    """D3: advice registered under the professional's name; the client only as a pseudonym.

    The client's identifiers (if the professional gives them) are used once to compute the keyed
    pseudonym and never stored; without them the advice has no pseudonym.
    """
    if meldcode_step not in MELDCODE_STEPS:
        raise InvalidInput("the meldcode step is 1 to 5")
    owner = session.get(User, professional_id)
    if owner is None or owner.role != Role.PROFESSIONAL or owner.disabled:
        raise NotFound("no such professional")
    if team_id is None:
        # Advice nobody's team holds would be visible to nobody but the professional: the intake
        # team receives it, or it is refused.
        team_id = intake_team(session, vault)
        if team_id is None:
            raise InvalidInput("no team can receive this advice: name a team, or configure VAULT_INTAKE_TEAM")
    if client is not None:
        # Refuse an incomplete client, or one born after today (as a report's subjects), before
        # opening anything: a pseudonym of a person who cannot exist matches no later advice (D19).
        client = client.checked(local_date(ctx.now()))
        client_pseudonyms(vault, client)
    case, workflow, _ = open_case_with_key(
        session,
        vault,
        ctx,
        kind=CaseKind.ADVICE_PROFESSIONAL,
        team_id=team_id,
        legal_basis=DEFAULT_LEGAL_BASIS,
        owner_id=professional_id,
        received_at=None,
    )
    set_client_pseudonyms(vault, workflow, client)
    workflow.meldcode_step = meldcode_step
    session.flush()
    return case


def open_report(
    session: Session,
    vault: Vault,
    ctx: Context,
    *,
    team_id: str,
    reporter: ReporterFields,
    subjects: Sequence[tuple[Relation, PersonFields]] = (),
    received_at: datetime | None = None,
) -> Case:
    """A report (melding): no consent needed (D1); reporter identity sealed apart (D8); triage due (D5)."""
    today = local_date(ctx.now())
    checked = [(relation, fields.checked(today)) for relation, fields in subjects]
    case, _, dek = open_case_with_key(
        session,
        vault,
        ctx,
        kind=CaseKind.REPORT,
        team_id=team_id,
        legal_basis=DEFAULT_LEGAL_BASIS,
        owner_id=None,
        received_at=received_at,
    )
    seal_reporter_identity(session, ctx, dek, case_id=case.id, reporter=reporter)
    seal_subjects(session, vault, ctx, dek, case.id, checked)
    return case


def record_meldcode_step(vault: Vault, ctx: Context, case_id: str, step: int) -> None:
    """D3: the professional moves to another meldcode step (1–5) on their advice case."""
    if step not in MELDCODE_STEPS:
        raise InvalidInput("the meldcode step is 1 to 5")

    def write(session: Session, admission: Admission) -> None:
        case = session.get(Case, case_id)
        workflow = session.get(CaseWorkflow, case_id)
        if case is None or workflow is None:
            raise NotFound("no such case")
        if case.kind != CaseKind.ADVICE_PROFESSIONAL:
            raise RuleRefused(
                InvalidInput("only a professional's advice has a meldcode step"), "d3-not-advice"
            )
        workflow.meldcode_step = step
        touch_case(case, ctx)

    gated_write(
        vault,
        ctx,
        case_id,
        category=Category.ADVICE,
        tag=AuditTag.DOSSIER_MELDCODE_STEP,
        object_type="case",
        object_id=case_id,
        then=write,
    )


@dataclass(frozen=True)
class OpenedCase:
    """What the caller of an ``open_*`` use case answers with: the case and the dates it started."""

    case_id: str
    kind: str
    client_pseudonym: str | None
    triage_due: date | None


def opened(session: Session, case: Case) -> OpenedCase:
    """The just-opened case's summary, read in the same transaction (its workflow row was added with it)."""
    workflow = session.get(CaseWorkflow, case.id)
    return OpenedCase(
        case_id=case.id,
        kind=case.kind,
        client_pseudonym=workflow.client_pseudonym if workflow else None,
        triage_due=workflow.triage_due if workflow else None,
    )
