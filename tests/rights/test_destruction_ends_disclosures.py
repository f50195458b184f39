"""D11/D12 with D22: destroying a case ends its disclosures. The grant rows stay (who received which
categories, when), revoked, with the text staff typed in them blanked; the partner's inbox no longer
lists them."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select, text, update

from tests.audit.oracle import verify_chain
from tests.helpers import ctx_for, make_org, make_user, new_case, upload
from vault import migrate
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.models import AuditEntry, Case, Grant, GrantItem
from vault.runtime import Vault
from vault.services import destruction, partner_view
from vault.services.disclosures import DisclosureRequest, create_disclosure, revoke_disclosure

CANARY = "Kanarie"  # a family name staff typed into the disclosure's free-text fields


def _share(vault: Vault, worker: Context, case_id: str, org_id: str, category: Category) -> str:
    return create_disclosure(
        vault,
        worker,
        DisclosureRequest(
            case_id=case_id,
            org_id=org_id,
            purpose=f"overdracht gezin {CANARY}, Dorpsstraat 4",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({category}),
            partner_title=f"Afspraken gezin {CANARY}",
            contact_name=f"Marieke {CANARY}",
            contact_phone="020 123 45 67",
        ),
    ).id


def test_d11_d22_destruction_revokes_the_cases_grants_and_blanks_their_typed_text(
    vault: Vault, clock: FrozenClock, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"afspraken", category=Category.SAFETY_CONDITIONS)
    org = make_org(vault, OrgType.LOCAL_TEAM)
    earlier = _share(vault, worker, case_id, org, Category.SAFETY_CONDITIONS)
    revoke_disclosure(vault, worker, earlier)
    revoked_at = clock.now()
    live = _share(vault, worker, case_id, org, Category.SAFETY_CONDITIONS)
    with vault.db.session() as session:  # a grant from before migration 0007 kept a free-text reference
        session.execute(update(Grant).where(Grant.id == live).values(consent_reference=f"brief {CANARY}"))
    clock.advance(days=30)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="retention_expired")

    with vault.db.session() as session:
        grants = {g.id: g for g in session.scalars(select(Grant).where(Grant.case_id == case_id))}
        assert grants[live].revoked_at == clock.now()
        assert grants[earlier].revoked_at == revoked_at  # an earlier revocation keeps its date
        for grant in grants.values():
            assert (grant.purpose, grant.consent_reference) == ("", None)
            assert (grant.contact_name, grant.contact_phone, grant.partner_title_enc) == (None, None, None)
            # What the register and the partner's history still need: organisation, basis, dates, scope.
            assert (grant.org_id, grant.legal_basis) == (org, "wmo-4.1.1-2-help")
        items = session.scalars(select(GrantItem.ref).where(GrantItem.grant_id == live)).all()
        assert items == [str(Category.SAFETY_CONDITIONS)]
        rows = session.execute(text("SELECT * FROM grants WHERE case_id = :c"), {"c": case_id}).all()
        assert CANARY not in repr(rows)
        revoked = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_REVOKED), AuditEntry.actor_id == "os:tester"
            )
        ).all()
        assert [(e.case_id, e.object_id, e.rule) for e in revoked] == [(case_id, live, "d11-case-destroyed")]
        assert json.loads(revoked[0].details) == {"org_id": org, "reason": "case-destroyed"}
        details = " ".join(session.scalars(select(AuditEntry.details)).all())
        assert CANARY not in details
        assert verify_chain(session).ok


def test_d12_a_granted_request_leaves_no_live_grant_and_an_empty_partner_inbox(
    vault: Vault, team: str, worker: Context
) -> None:
    case_id = new_case(vault, worker, team)
    kept = new_case(vault, worker, team)
    org = make_org(vault, OrgType.LOCAL_TEAM)
    for case in (case_id, kept):
        upload(vault, worker, case, b"afspraken", category=Category.SAFETY_CONDITIONS)
    doomed = _share(vault, worker, case_id, org, Category.SAFETY_CONDITIONS)
    other = _share(vault, worker, kept, org, Category.SAFETY_CONDITIONS)
    partner = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=org), Role.PARTNER, org_id=org)
    assert {i.grant.id for i in partner_view.partner_inbox(vault, partner)} == {doomed, other}
    leader = ctx_for(vault, make_user(vault, Role.TEAMLEIDER, teams=[team]), Role.TEAMLEIDER)
    request_id = destruction.record_destruction_request(vault, worker, case_id, received_on=date(2026, 3, 1))
    destruction.decide_destruction_request(vault, leader, request_id, grant=True)

    inbox = partner_view.partner_inbox(vault, partner)
    assert [i.grant.id for i in inbox] == [other]
    with vault.db.session() as session:
        grant = session.get(Grant, doomed)
        assert grant is not None
        assert grant.revoked_at is not None
        assert (grant.purpose, grant.contact_name) == ("", None)


def test_d11_a_destroyed_cases_grant_left_live_by_an_earlier_version_is_not_in_the_inbox(
    vault: Vault, team: str, worker: Context
) -> None:
    """Cases destroyed before destruction closed their grants: the inbox checks the case itself."""
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"afspraken", category=Category.SAFETY_CONDITIONS)
    org = make_org(vault, OrgType.LOCAL_TEAM)
    grant_id = _share(vault, worker, case_id, org, Category.SAFETY_CONDITIONS)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    with vault.db.session() as session:  # as an earlier version left it: live, its purpose in clear
        session.execute(
            update(Grant).where(Grant.id == grant_id).values(revoked_at=None, purpose=f"gezin {CANARY}")
        )
    partner = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=org), Role.PARTNER, org_id=org)
    assert partner_view.partner_inbox(vault, partner) == []


def test_d11_migration_closes_the_grants_of_cases_destroyed_before(
    vault: Vault, team: str, worker: Context
) -> None:
    """A case destroyed by an earlier version kept its grants live, with their purpose in clear."""
    case_id = new_case(vault, worker, team)
    upload(vault, worker, case_id, b"afspraken", category=Category.SAFETY_CONDITIONS)
    grant_id = _share(vault, worker, case_id, make_org(vault, OrgType.LOCAL_TEAM), Category.SAFETY_CONDITIONS)
    destroyed_at = vault.clock.now()
    with vault.db.session() as session:  # as an earlier version left it
        case = session.get(Case, case_id)
        assert case is not None
        case.destroyed_at = destroyed_at
    migrate.downgrade(vault.db.engine, "0021")
    migrate.upgrade(vault.db.engine)
    with vault.db.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        assert grant.revoked_at == destroyed_at
        assert (grant.purpose, grant.contact_name, grant.contact_phone, grant.partner_title_enc) == (
            "",
            None,
            None,
            None,
        )
