"""D2: a help seeker keeps control; their personal data is registered only with *their own* consent.

A ``register_personal_data`` consent given by anyone but the help seeker is refused when it is recorded
(rule ``d2-help-seeker-consent``, 400, audited as a denied entry with ids and the rule only), and one
recorded by someone else before that rule existed does not count when identifying data is added or
corrected. A consent to share (D9) is not restricted to the help seeker.

Real services, database and crypto; real HTTP with real accounts and TOTP for the API.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import (
    api_user,
    case_entries,
    ctx_for,
    make_org,
    make_team,
    make_user,
    new_case,
    team_id_of,
)
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, OrgType, Role
from vault.errors import Forbidden, InvalidInput
from vault.models import Consent, Subject
from vault.runtime import Vault
from vault.services import subjects
from vault.services.person_fields import HELP_SEEKER_CONSENT, ConsentScope, PersonFields, Relation

ANNA = PersonFields(
    name="Anna de Vries",
    bsn="111222333",
    date_of_birth=date(1990, 4, 1),
    address="Dorpsstraat 1, 1234 AB Ergens",
)
REGISTER = ConsentScope.REGISTER_PERSONAL_DATA


def _advice_case(vault: Vault) -> tuple[Context, str]:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    return worker, new_case(vault, worker, team, CaseKind.ADVICE_HELP_SEEKER)


def _consent_rows(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(Consent).where(Consent.case_id == case_id)) or 0
        )


def _subject_rows(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(Subject).where(Subject.case_id == case_id)) or 0
        )


def _denied_rules(vault: Vault, case_id: str) -> list[str | None]:
    return [e.rule for e in case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)]


def _consent_recorded_before_the_rule(vault: Vault, ctx: Context, case_id: str, given_by: Relation) -> str:
    """A consent row as ``record_consent`` stored it before the rule: given by someone else."""
    consent_id = str(uuid.uuid4())
    with vault.db.session() as session:
        session.add(
            Consent(
                id=consent_id,
                case_id=case_id,
                scope=str(REGISTER),
                given_by=str(given_by),
                recorded_at=ctx.now(),
                recorded_by=ctx.actor_id or "unknown",
            )
        )
    return consent_id


@pytest.mark.parametrize("giver", [r for r in Relation if r is not Relation.HELP_SEEKER])
def test_d2_a_consent_to_register_personal_data_from_anyone_else_is_refused_and_audited(
    vault: Vault, giver: Relation
) -> None:
    worker, case_id = _advice_case(vault)
    with pytest.raises(InvalidInput, match="help seeker themself") as refused:
        subjects.record_consent(vault, worker, case_id, scope=REGISTER, given_by=giver)
    assert refused.value.rule == HELP_SEEKER_CONSENT
    assert _consent_rows(vault, case_id) == 0
    assert _denied_rules(vault, case_id) == [HELP_SEEKER_CONSENT]
    denied = case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)[0]
    assert denied.actor_id == worker.actor_id
    assert "Anna" not in str(denied.details)


def test_d2_only_the_help_seekers_own_consent_lets_identifying_data_in(vault: Vault) -> None:
    """The reviewer's case: a "consent" of the alleged perpetrator registers nothing of the help seeker."""
    worker, case_id = _advice_case(vault)
    with pytest.raises(InvalidInput):
        subjects.record_consent(vault, worker, case_id, scope=REGISTER, given_by=Relation.ALLEGED_PERPETRATOR)
    with pytest.raises(Forbidden):
        subjects.add_subject(vault, worker, case_id, relation=Relation.HELP_SEEKER, fields=ANNA)
    assert _subject_rows(vault, case_id) == 0

    own = subjects.record_consent(vault, worker, case_id, scope=REGISTER, given_by=Relation.HELP_SEEKER)
    subjects.add_subject(vault, worker, case_id, relation=Relation.HELP_SEEKER, fields=ANNA, consent_id=own)
    with vault.db.session() as session:
        assert session.scalars(select(Subject.consent_id).where(Subject.case_id == case_id)).all() == [own]


def test_d2_a_consent_recorded_earlier_by_someone_else_does_not_count(vault: Vault) -> None:
    worker, case_id = _advice_case(vault)
    other = _consent_recorded_before_the_rule(vault, worker, case_id, Relation.ALLEGED_PERPETRATOR)

    for consent_id in (other, None):  # named, or the newest live consent of the scope
        with pytest.raises(Forbidden, match="own recorded consent") as refused:
            subjects.add_subject(
                vault, worker, case_id, relation=Relation.HELP_SEEKER, fields=ANNA, consent_id=consent_id
            )
        assert refused.value.rule == HELP_SEEKER_CONSENT
    assert _subject_rows(vault, case_id) == 0
    assert _denied_rules(vault, case_id) == [HELP_SEEKER_CONSENT, HELP_SEEKER_CONSENT]

    # Correcting a subject to identifying fields rests on the same rule.
    subject_id = subjects.add_subject(
        vault, worker, case_id, relation=Relation.HELP_SEEKER, fields=PersonFields()
    )
    with pytest.raises(Forbidden) as refused:
        subjects.correct_subject(
            vault, worker, case_id, subject_id, relation=Relation.HELP_SEEKER, fields=ANNA, consent_id=other
        )
    assert refused.value.rule == HELP_SEEKER_CONSENT


def test_d2_the_help_seekers_own_consent_counts_beside_a_newer_one_of_someone_else(
    vault: Vault, clock: FrozenClock
) -> None:
    worker, case_id = _advice_case(vault)
    own = subjects.record_consent(vault, worker, case_id, scope=REGISTER, given_by=Relation.HELP_SEEKER)
    clock.advance(seconds=60)
    _consent_recorded_before_the_rule(vault, worker, case_id, Relation.PARENT)
    subject_id = subjects.add_subject(vault, worker, case_id, relation=Relation.HELP_SEEKER, fields=ANNA)
    with vault.db.session() as session:
        subject = session.get(Subject, subject_id)
        assert subject is not None
        assert subject.consent_id == own


def test_d2_d9_a_consent_to_share_a_help_seekers_case_is_the_help_seekers_own(vault: Vault) -> None:
    """D2, D9 (seed 000: "toestemming van de hulpvrager"): on a help seeker's advice case a consent to
    share is the help seeker's too; a parent's is refused (``d9-consent-giver``, audited)."""
    worker, case_id = _advice_case(vault)
    org_id = make_org(vault, OrgType.LOCAL_TEAM)
    with pytest.raises(InvalidInput):
        subjects.record_consent(
            vault,
            worker,
            case_id,
            scope=ConsentScope.SHARE_WITH_PARTNER,
            given_by=Relation.PARENT,
            recipient_org_id=org_id,
        )
    assert _consent_rows(vault, case_id) == 0
    assert _denied_rules(vault, case_id) == ["d9-consent-giver"]
    subjects.record_consent(
        vault,
        worker,
        case_id,
        scope=ConsentScope.SHARE_WITH_PARTNER,
        given_by=Relation.HELP_SEEKER,
        recipient_org_id=org_id,
    )
    assert _consent_rows(vault, case_id) == 1


def test_d2_api_refuses_a_consent_to_register_from_someone_else_with_400(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    user = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Hulpvrager")
    worker = ctx_for(vault, user.user_id, Role.MEDEWERKER)
    case_id = new_case(vault, worker, team_id_of(vault, "Team Hulpvrager"), CaseKind.ADVICE_HELP_SEEKER)
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=user.headers,
        json={"scope": "register_personal_data", "given_by": "alleged_perpetrator"},
    )
    assert r.status_code == 400, r.text
    assert "help seeker" in r.text
    assert _consent_rows(vault, case_id) == 0
    r = client.post(
        f"/api/v1/cases/{case_id}/consents",
        headers=user.headers,
        json={"scope": "register_personal_data", "given_by": "help_seeker"},
    )
    assert r.status_code == 201, r.text
