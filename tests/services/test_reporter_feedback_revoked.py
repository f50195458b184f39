"""D8, D9: the terugkoppeling for the reporter names a disclosure only when it handed something over.

- A grant revoked before its first retrieval (sent to the wrong practice and taken back at once) was
  no step: it is neither follow-up nor a recipient. One retrieved before it was revoked still is.
- A grant on the subject's consent starts follow-up, but its recipient is not named: it tells which care
  provider the family chose to share with, which they agreed to for that provider, not for the reporter.
"""

from __future__ import annotations

import pytest

from tests.helpers import ctx_for, make_org, make_team, make_user, upload
from vault.context import Context
from vault.domain import Category, OrgType, Role
from vault.runtime import Vault
from vault.services.cases import open_report
from vault.services.consents import record_consent
from vault.services.disclosures import (
    DisclosureRequest,
    create_disclosure,
    reporter_feedback,
    revoke_disclosure,
)
from vault.services.documents import read_document
from vault.services.person_fields import ConsentScope, Relation
from vault.services.subjects import ReporterFields

HELP = "wmo-4.1.1-2-help"


@pytest.fixture
def case(vault: Vault) -> tuple[Context, str, str]:
    """A neighbour's report with one safety-conditions document: (worker, case id, document id)."""
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    with vault.db.session() as session:
        case_id = open_report(
            session,
            vault,
            worker,
            team_id=team,
            reporter=ReporterFields(name="Buurvrouw", professional=False),
        ).id
    doc = upload(vault, worker, case_id, b"veiligheidsvoorwaarden", category=Category.SAFETY_CONDITIONS)
    return worker, case_id, doc


def _share(
    vault: Vault, ctx: Context, case_id: str, org_id: str, basis: str = HELP, consent: str | None = None
) -> str:
    return create_disclosure(
        vault,
        ctx,
        DisclosureRequest(
            case_id=case_id,
            org_id=org_id,
            purpose="warme overdracht",
            legal_basis=basis,
            consent_reference=consent,
            categories=frozenset({Category.SAFETY_CONDITIONS}),
            confirm_duplicate=True,
            contact_name="Marieke de Vries",
            contact_phone="030 123 45 67",
        ),
    ).id


def test_d8_d9_only_grants_that_handed_something_over_are_told_to_the_reporter(
    vault: Vault, case: tuple[Context, str, str]
) -> None:
    worker, case_id, doc = case
    wrong = make_org(vault, OrgType.GP, name="Huisartsenpraktijk Verkeerd")
    revoke_disclosure(vault, worker, _share(vault, worker, case_id, wrong))  # a mistake, never retrieved
    feedback = reporter_feedback(vault, worker, case_id)
    assert (feedback.follow_up_started, feedback.handed_to) == (False, ())

    right = make_org(vault, OrgType.GP, name="Huisartsenpraktijk Goed")
    grant = _share(vault, worker, case_id, right)
    partner = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=right), Role.PARTNER, org_id=right)
    read_document(vault, partner, doc)  # retrieved: handed over
    revoke_disclosure(vault, worker, grant)  # revoked afterwards: the step was taken all the same
    team = make_org(vault, OrgType.LOCAL_TEAM, name="Lokaal team Oost")
    _share(vault, worker, case_id, team)  # live, not retrieved yet: handed over
    feedback = reporter_feedback(vault, worker, case_id)
    assert feedback.follow_up_started is True
    assert feedback.handed_to == ("Huisartsenpraktijk Goed", "Lokaal team Oost")


def test_d8_d9_a_recipient_on_the_subjects_consent_is_not_named_to_the_reporter(
    vault: Vault, case: tuple[Context, str, str]
) -> None:
    worker, case_id, _doc = case
    therapist = make_org(vault, OrgType.CARE_PROVIDER, name="Praktijk voor Gezinstherapie Kanarie")
    consent = record_consent(
        vault,
        worker,
        case_id,
        scope=ConsentScope.SHARE_WITH_PARTNER,
        given_by=Relation.PARENT,
        recipient_org_id=therapist,
    )
    _share(vault, worker, case_id, therapist, basis="consent", consent=consent)
    feedback = reporter_feedback(vault, worker, case_id)
    assert feedback.follow_up_started is True  # something was passed on ...
    assert feedback.handed_to == ()  # ... but not to whom the family chose
