"""Every change of access rights is audited with stable ids, so "who could see this case on that
day" can be answered from the log (issue: disclosures and audit; D15, D16)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.helpers import ctx_for, make_org, make_team, make_user, new_case, upload
from vault.auth import AuthConfig
from vault.context import Context
from vault.domain import Category, OrgType, Role
from vault.errors import Forbidden, InvalidInput
from vault.models import AuditEntry, User
from vault.runtime import Vault
from vault.services import accounts
from vault.services.assignments import assign_case, unassign_case
from vault.services.disclosures import DisclosureRequest, create_disclosure, revoke_disclosure
from vault.services.documents import read_document
from vault.transaction import transaction


def _could_see(vault: Vault, case_id: str, team_id: str, at: datetime) -> set[str]:
    """Replay the log up to ``at``: team members, assignees and organisations with a live grant."""
    members: set[str] = set()
    assigned: set[str] = set()
    orgs: set[str] = set()
    with vault.db.session() as session:
        for e in session.scalars(
            select(AuditEntry).where(AuditEntry.occurred_at <= at).order_by(AuditEntry.seq)
        ):
            import json

            d = json.loads(e.details)
            if e.tag == "admin:user:created" and d.get("team_id") == team_id:
                members.add(e.object_id or "")
            elif e.tag == "admin:membership:changed" and d.get("team_id") == team_id:
                (members.add if d["change"] == "added" else members.discard)(e.object_id or "")
            elif e.case_id == case_id and e.tag == "dossier:case:assigned" and e.decision == "allow":
                assigned.add(e.object_id or "")
            elif e.case_id == case_id and e.tag == "dossier:case:unassigned" and e.decision == "allow":
                assigned.discard(e.object_id or "")
            elif e.case_id == case_id and e.tag == "disclosure:grant:created":
                orgs.add(d["org_id"])
            elif e.case_id == case_id and e.tag == "disclosure:grant:revoked":
                orgs.discard(d["org_id"])
    return members | assigned | {f"org:{o}" for o in orgs}


def test_access_right_changes_are_audited_and_replayable(vault: Vault) -> None:
    system = Context.system(clock=vault.clock)
    auth = AuthConfig.from_vault(vault)
    with transaction(vault.db) as session:
        accounts.create_team(session, system, "Team Oost")
        accounts.create_team(session, system, "Team Zuid")
        anna = accounts.create_user(
            session, system, auth, username="anna", role="medewerker", team="Team Oost"
        ).user_id
        leader = accounts.create_user(
            session, system, auth, username="lies", role="teamleider", team="Team Oost"
        ).user_id
        bram = accounts.create_user(
            session, system, auth, username="bram", role="medewerker", team="Team Zuid"
        ).user_id
        team_id = session.scalars(select(User).where(User.id == anna)).one().id and None
    with vault.db.session() as session:
        from vault.repositories.identity import team_by_name

        oost = team_by_name(session, "Team Oost")
        assert oost is not None
        team_id = oost.id
    worker, lead = ctx_for(vault, anna, Role.MEDEWERKER), ctx_for(vault, leader, Role.TEAMLEIDER)
    case_id = new_case(vault, worker, team_id)
    doc = upload(vault, worker, case_id, b"inhoud", category=Category.SAFETY_CONDITIONS)
    t0 = vault.clock.now()
    assert _could_see(vault, case_id, team_id, t0) == {anna, leader}

    vault.clock.advance(hours=1)  # type: ignore[attr-defined]
    with pytest.raises(Forbidden):  # a case worker does not assign
        assign_case(vault, worker, case_id, bram)
    assert assign_case(vault, lead, case_id, bram) is True
    assert b"".join(read_document(vault, ctx_for(vault, bram, Role.MEDEWERKER), doc).chunks) == b"inhoud"
    org = make_org(vault, OrgType.LOCAL_TEAM)
    grant = create_disclosure(
        vault,
        ctx_for(vault, anna, Role.MEDEWERKER),
        DisclosureRequest(
            contact_name="Marieke de Vries",  # D23
            contact_phone="030 123 45 67",
            case_id=case_id,
            org_id=org,
            purpose="overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS}),
        ),
    )
    with transaction(vault.db) as session:
        accounts.change_membership(session, system, team="Team Oost", username="anna", member=False)
    t1 = vault.clock.now()
    assert _could_see(vault, case_id, team_id, t1) == {leader, bram, f"org:{org}"}

    vault.clock.advance(hours=1)  # type: ignore[attr-defined]
    assert unassign_case(vault, lead, case_id, bram) is True
    revoke_disclosure(vault, ctx_for(vault, leader, Role.TEAMLEIDER), grant.id)
    with pytest.raises(Forbidden):  # unassigned: access ends at once
        read_document(vault, ctx_for(vault, bram, Role.MEDEWERKER), doc)
    assert _could_see(vault, case_id, team_id, vault.clock.now()) == {leader}
    # and the earlier days still read as they were
    assert _could_see(vault, case_id, team_id, t0) == {anna, leader}


def test_only_staff_are_assigned(vault: Vault) -> None:
    team = make_team(vault)
    leader = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    case_id = new_case(
        vault, ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER), team
    )
    partner = make_user(vault, Role.PARTNER, org_id=make_org(vault, OrgType.POLICE))
    with pytest.raises(InvalidInput):
        assign_case(vault, leader, case_id, partner)


def test_d16_disclosure_entries_hold_codes_not_typed_text(vault: Vault) -> None:
    """A purpose or a made-up basis is typed by a person: neither reaches the audit log (D16)."""
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    org = make_org(vault, OrgType.LOCAL_TEAM)
    typed = "overdracht aan moeder Kanarie"
    create_disclosure(
        vault,
        worker,
        DisclosureRequest(
            contact_name="Marieke de Vries",  # D23
            contact_phone="030 123 45 67",
            case_id=case_id,
            org_id=org,
            purpose=typed,
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS}),
        ),
    )
    with pytest.raises(Forbidden):
        create_disclosure(
            vault,
            worker,
            DisclosureRequest(
                contact_name="Marieke de Vries",  # D23
                contact_phone="030 123 45 67",
                case_id=case_id,
                org_id=org,
                purpose=typed,
                legal_basis="Kanarie-grondslag",
                categories=frozenset({Category.SAFETY_CONDITIONS}),
            ),
        )
    with vault.db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.case_id == case_id)).all()
    assert {e.tag for e in entries} >= {"disclosure:grant:created", "disclosure:grant:denied"}
    text = " ".join(str(getattr(e, c.key)) for e in entries for c in AuditEntry.__table__.columns)
    assert "Kanarie" not in text
    assert "wmo-4.1.1-2-help" in text  # the ground itself is recorded, as a code
