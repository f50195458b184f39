"""D9 (D13): a consent to share "given by the child" names the child (``subject_id``, a child subject of
the case) and is accepted only when THAT child is old enough to give it: 12 or older on the day, by the
recorded date of birth (the age from which the project lets a child act for themself, D13). Otherwise
it is refused when recorded (rule ``d9-consent-giver``, audited, 400) and nothing carries a disclosure.

A child's consent recorded before the child was named (``subject_id`` NULL, migration 0033) carries no
new disclosure and no extension (``check_sharing_consent``, ``d9-consent-giver``): the worker records it
again. The age is checked when the consent is recorded (it needs the case key, which the disclosure
decision does not hold); at use the consent must still name a child of the case.

Real app, real accounts with TOTP, real database and crypto; the clock is the only double."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.helpers import ApiUser, api_user, case_entries
from tests.partner_api import TEAM, disclose, open_report, put_doc
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.models import Consent, Subject
from vault.runtime import Vault


def _subject(
    client: TestClient, worker: ApiUser, case_id: str, relation: str = "child", **fields: str
) -> str:
    r = client.post(
        f"/api/v1/cases/{case_id}/subjects", headers=worker.headers, json={"relation": relation, **fields}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _childs_consent(
    client: TestClient,
    worker: ApiUser,
    case_id: str,
    org_id: str,
    subject_id: str | None,
    giver: str = "child",
) -> tuple[int, str]:
    body = {"scope": "share_with_partner", "given_by": giver, "recipient_org_id": org_id}
    if subject_id is not None:
        body["subject_id"] = subject_id
    r = client.post(f"/api/v1/cases/{case_id}/consents", headers=worker.headers, json=body)
    return r.status_code, r.json().get("id", "") if r.status_code == 201 else ""


def _consents(vault: Vault, case_id: str) -> int:
    with vault.db.session() as session:
        count = session.scalar(select(func.count()).select_from(Consent).where(Consent.case_id == case_id))
    return int(count or 0)


def _setup(client: TestClient, vault: Vault, clock: FrozenClock) -> tuple[ApiUser, ApiUser, str]:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    relative = api_user(client, vault, clock, Role.PARTNER, org=("Stichting Familie", OrgType.OTHER))
    return worker, relative, open_report(vault, worker)


def test_d9_a_childs_share_consent_names_the_child(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """Without a named child: 400 before anything is written; a subject named for another giver: 400."""
    worker, relative, case_id = _setup(client, vault, clock)
    fifteen = _subject(client, worker, case_id, name="Oudste Kind", date_of_birth="2011-01-01")
    assert _childs_consent(client, worker, case_id, relative.org_id, None)[0] == 400
    assert _childs_consent(client, worker, case_id, relative.org_id, fifteen, giver="parent")[0] == 400
    assert _consents(vault, case_id) == 0


def test_d9_a_share_consent_recorded_as_the_childs_without_a_known_age_is_refused(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, relative, case_id = _setup(client, vault, clock)
    unknown = _subject(client, worker, case_id, name="Kind Zonder Datum")  # date of birth not recorded
    assert _childs_consent(client, worker, case_id, relative.org_id, unknown)[0] == 400
    denied = case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)
    assert [e.rule for e in denied] == ["d9-consent-giver"]
    assert _consents(vault, case_id) == 0


def test_d9_a_child_under_12_does_not_consent_to_sharing(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """The clock stands at 2 March 2026: one child is 15, the other turns 12 tomorrow."""
    worker, relative, case_id = _setup(client, vault, clock)
    assert clock.now().date() == date(2026, 3, 2)
    oldest = _subject(client, worker, case_id, name="Oudste Kind", date_of_birth="2011-01-01")
    youngest = _subject(client, worker, case_id, name="Jongste Kind", date_of_birth="2014-03-03")
    assert _childs_consent(client, worker, case_id, relative.org_id, youngest)[0] == 400
    assert [e.rule for e in case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)] == [
        "d9-consent-giver"
    ]
    status, consent_id = _childs_consent(client, worker, case_id, relative.org_id, oldest)
    assert status == 201  # the 15-year-old consents, though a younger child is under 12
    with vault.db.session() as session:
        row = session.get(Consent, consent_id)
        assert row is not None
        assert row.subject_id == oldest
    clock.advance(days=1)  # now the youngest is 12
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    assert _childs_consent(client, worker, case_id, relative.org_id, youngest)[0] == 201


def test_d9_the_named_subject_must_be_a_child_of_this_case(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, relative, case_id = _setup(client, vault, clock)
    parent = _subject(client, worker, case_id, relation="parent", name="Ouder", date_of_birth="1980-01-01")
    other_case = open_report(vault, worker)
    elsewhere = _subject(client, worker, other_case, name="Ander Kind", date_of_birth="2000-01-01")
    for subject_id in (parent, elsewhere):
        assert _childs_consent(client, worker, case_id, relative.org_id, subject_id)[0] == 400
    denied = case_entries(vault, case_id, AuditTag.DOSSIER_ACCESS_DENIED)
    assert [e.rule for e in denied] == ["d9-consent-giver", "d9-consent-giver"]
    assert _consents(vault, case_id) == 0


def test_d9_a_child_of_12_or_older_consents_to_sharing(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, relative, case_id = _setup(client, vault, clock)
    doc = put_doc(client, worker, case_id, b"verslag", Category.REPORT)
    twelve_today = clock.now().date().replace(year=clock.now().year - 12)
    child = _subject(client, worker, case_id, name="Kind Twaalf", date_of_birth=twelve_today.isoformat())
    status, consent_id = _childs_consent(client, worker, case_id, relative.org_id, child)
    assert status == 201
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=relative.org_id,
        purpose="steun",
        legal_basis="consent",
        consent_reference=consent_id,
        document_ids=[doc],
    )
    assert status == 201, body


def _childs_grant(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> tuple[ApiUser, ApiUser, str, str, str]:
    """A case, a 13-year-old's consent naming them, and a disclosure resting on it."""
    worker, relative, case_id = _setup(client, vault, clock)
    doc = put_doc(client, worker, case_id, b"verslag", Category.REPORT)
    child = _subject(client, worker, case_id, name="Kind Dertien", date_of_birth="2013-01-01")
    status, consent_id = _childs_consent(client, worker, case_id, relative.org_id, child)
    assert status == 201
    status, grant = disclose(
        client,
        worker,
        case_id,
        org_id=relative.org_id,
        purpose="steun",
        legal_basis="consent",
        consent_reference=consent_id,
        document_ids=[doc],
        valid_days=10,
    )
    assert status == 201, grant
    return worker, relative, case_id, consent_id, str(grant["id"])


def _as_before_the_fix(vault: Vault, consent_id: str) -> None:
    """The row as a child's consent recorded before migration 0033 left it: no child named."""
    with vault.db.session() as session, session.begin():
        session.execute(update(Consent).where(Consent.id == consent_id).values(subject_id=None))


def test_d9_a_childs_consent_recorded_before_the_child_was_named_carries_no_disclosure(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, relative, case_id, consent_id, _grant = _childs_grant(client, vault, clock)
    _as_before_the_fix(vault, consent_id)
    doc = put_doc(client, worker, case_id, b"nog een verslag", Category.REPORT)
    status, body = disclose(
        client,
        worker,
        case_id,
        org_id=relative.org_id,
        purpose="steun",
        legal_basis="consent",
        consent_reference=consent_id,
        document_ids=[doc],
    )
    assert status == 403, body
    denied = case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_DENIED)
    assert [e.rule for e in denied] == ["d9-consent-giver"]


def test_d9_a_disclosure_on_a_childs_consent_recorded_before_the_child_was_named_is_not_extended(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker, _relative, case_id, consent_id, grant_id = _childs_grant(client, vault, clock)
    r = client.post(f"/api/v1/disclosures/{grant_id}/extend", headers=worker.headers, json={"days": 20})
    assert r.status_code == 200, r.text  # named: extended
    _as_before_the_fix(vault, consent_id)
    r = client.post(f"/api/v1/disclosures/{grant_id}/extend", headers=worker.headers, json={"days": 25})
    assert r.status_code == 403, r.text
    denied = case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_DENIED)
    assert [e.rule for e in denied] == ["d9-consent-giver"]


def test_d9_a_childs_consent_whose_subject_is_no_longer_a_child_carries_no_disclosure(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """The named subject no longer a child of the case (a relation changed without the correction that
    lapses the consent, ``test_d9_child_consent_lapses_on_correction.py``: the check at use holds)."""
    worker, _relative, case_id, consent_id, grant_id = _childs_grant(client, vault, clock)
    with vault.db.session() as session, session.begin():
        row = session.get(Consent, consent_id)
        assert row is not None
        assert row.subject_id is not None
        session.execute(update(Subject).where(Subject.id == row.subject_id).values(relation="parent"))
    r = client.post(f"/api/v1/disclosures/{grant_id}/extend", headers=worker.headers, json={"days": 20})
    assert r.status_code == 403, r.text
    assert [e.rule for e in case_entries(vault, case_id, AuditTag.DISCLOSURE_GRANT_DENIED)] == [
        "d9-consent-giver"
    ]


def test_d9_d12_destroying_a_case_removes_a_childs_consent_and_the_child_it_names(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """The consent names a subject and subjects name a consent (D2): destruction removes both (D12)."""
    from vault.services import destruction

    _worker, _relative, case_id, consent_id, _grant = _childs_grant(client, vault, clock)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=vault.clock)
    destruction.destroy_case(vault, operator, case_id, reason="retention_expired")
    with vault.db.session() as session:
        assert session.get(Consent, consent_id) is None
        left = session.scalar(select(func.count()).select_from(Subject).where(Subject.case_id == case_id))
    assert left == 0
