"""Issue 24: a partner decision reads its grant in the same query as the actor and case facts
(``access.partner_decision_facts``), and gives exactly what the two separate queries give — the
organisation taken from the database, never from the session."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from tests.helpers import ctx_for, make_org, make_team, make_user, new_case, upload
from vault.domain import Category, OrgType, Role
from vault.repositories import access
from vault.runtime import Vault
from vault.services import disclosures
from vault.services.disclosures import DisclosureRequest


def _shared(vault: Vault) -> tuple[str, str, str, str]:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    doc = upload(vault, worker, case_id, b"afspraken", category=Category.SAFETY_CONDITIONS)
    org = make_org(vault, OrgType.LOCAL_TEAM)
    grant = disclosures.create_disclosure(
        vault,
        worker,
        DisclosureRequest(
            contact_name="Marieke de Vries",  # D23
            contact_phone="030 123 45 67",
            case_id=case_id,
            org_id=org,
            purpose="overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS}),
            document_ids=frozenset({doc}),
        ),
    )
    return case_id, doc, org, grant.id


def _statements(vault: Vault) -> list[str]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        if str(args[2]).startswith("SELECT"):
            seen.append(str(args[2]))

    event.listen(vault.db.engine, "before_cursor_execute", count)
    return seen


@pytest.mark.parametrize("ask", ["category", "document", "both", "named", "none"])
def test_partner_facts_in_one_query_equal_the_two_queries(vault: Vault, ask: str) -> None:
    case_id, doc, org, grant_id = _shared(vault)
    partner = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=org), Role.PARTNER, org_id=org)
    kwargs: dict[str, Any] = {
        "category": Category.SAFETY_CONDITIONS if ask in {"category", "both"} else None,
        "document_id": doc if ask in {"document", "both"} else None,
        "grant": grant_id if ask == "named" else None,
    }
    with vault.db.session() as session:
        seen = _statements(vault)
        facts, grant = access.partner_decision_facts(session, partner, case_id, **kwargs)
        assert len(seen) == 1, seen
        separate = access.decision_facts(session, partner, case_id)
        expected = access.find_grant(
            session,
            org_id=org,
            case_id=case_id,
            category=kwargs["category"],
            document_id=kwargs["document_id"],
            now=partner.now(),
            grant_id=kwargs["grant"],
        )
    assert facts == separate
    assert grant == expected
    assert (grant is None) == (ask == "none")


def test_the_grant_is_the_organisation_the_database_names_not_the_session(vault: Vault) -> None:
    case_id, _doc, org, _grant = _shared(vault)
    other = make_org(vault, OrgType.LOCAL_TEAM)
    # A session claiming the granted organisation for an account of another organisation finds nothing.
    claimed = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=other), Role.PARTNER, org_id=org)
    with vault.db.session() as session:
        facts, grant = access.partner_decision_facts(
            session, claimed, case_id, category=Category.SAFETY_CONDITIONS, document_id=None, grant=None
        )
    assert facts[0] is not None
    assert facts[0].org_id == other
    assert grant is None


def test_a_session_saying_partner_for_a_staff_account_gets_no_grant(vault: Vault) -> None:
    case_id, _doc, _org, _grant = _shared(vault)
    staff = make_user(vault, Role.MEDEWERKER)
    ctx = ctx_for(vault, staff, Role.PARTNER)
    with vault.db.session() as session:
        facts, grant = access.partner_decision_facts(
            session, ctx, case_id, category=Category.SAFETY_CONDITIONS, document_id=None, grant=None
        )
    assert facts[0] is not None
    assert facts[0].role is Role.MEDEWERKER
    assert grant is None
