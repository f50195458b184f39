"""Session 18 review of the log review's outward faces (D21): evasion at midnight, the finding's page,
the verdict and the findings API. Each test failed on the code before the fix it names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ApiUser, api_user, ctx_for, make_user, new_case, probing_finding
from tests.logcontrole.conftest import DAY, World, of
from tests.web.world import build_world, web_login
from vault.app import create_app
from vault.audit.sealed import open_sealed
from vault.context import FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.logcontrole.detectors import Candidate, Detector
from vault.logcontrole.store import write_candidates
from vault.models import AuditEntry, Finding
from vault.runtime import Vault
from vault.transaction import transaction

WHY = "Besproken met de teamleider: de zaak was net aan het team toegewezen."


def _four_cases(world: World) -> list[str]:
    opener = ctx_for(world.vault, world.a1, Role.MEDEWERKER)
    return [world.case, world.other_case, *(new_case(world.vault, opener, world.team_a) for _ in range(2))]


def _refusals_over_midnight(world: World) -> None:
    """b1 (the other team) is refused on four cases within forty minutes: two before midnight and two
    after (Amsterdam: 23:40, 23:50, 00:10, 00:20 on 10/11 March, UTC+1)."""
    late = DAY + timedelta(hours=22, minutes=40)
    for minutes, case_id in zip((0, 10, 30, 40), _four_cases(world), strict=True):
        world.log(
            world.b1,
            late + timedelta(minutes=minutes),
            AuditTag.DOSSIER_ACCESS_DENIED,
            case_id=case_id,
            decision=Decision.DENY,
        )


def test_d21_refusals_on_many_cases_spread_over_midnight_are_probing(world: World) -> None:
    _refusals_over_midnight(world)
    found = of(world.review(DAY, DAY + timedelta(days=2)), "probing")
    assert [(f.actor_id, f.reason) for f in found] == [(world.b1, "many_cases")], (
        "refusals on four cases within forty minutes, split at midnight, were no probing"
    )


def test_d21_many_cases_over_midnight_is_one_finding_whichever_period_is_reviewed(world: World) -> None:
    _refusals_over_midnight(world)
    world.review(DAY, DAY + timedelta(days=1))
    world.review(DAY + timedelta(days=1), DAY + timedelta(days=2))
    found = of(world.review(DAY, DAY + timedelta(days=2)), "probing")
    assert len(found) == 1, [(f.day, f.reason) for f in found]


def test_d21_refusals_on_four_cases_a_day_apart_are_no_probing(world: World) -> None:
    cases = _four_cases(world)
    for i, case_id in enumerate(cases):  # one refusal a day, at noon: a link to another team's case
        world.log(
            world.b1,
            DAY + timedelta(days=i, hours=11),
            AuditTag.DOSSIER_ACCESS_DENIED,
            case_id=case_id,
            decision=Decision.DENY,
        )
    assert of(world.review(DAY, DAY + timedelta(days=4)), "probing") == []


def test_d21_a_finding_of_many_cases_in_one_hour_is_explained_in_dutch(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    t = int(clock.now().timestamp())
    candidate = Candidate(
        Detector.VOLUME, world.worker.user_id, "", clock.now().date().isoformat(), t, t, 2.5, "cases_per_hour"
    )
    with vault.db.session() as session:
        write_candidates(session, [candidate], clock.now())
        finding_id = session.scalars(select(Finding.id)).one()
    for url in (f"/fg/logcontrole/{finding_id}", "/fg/logcontrole"):
        body = client.get(url).text
        assert "cases_per_hour" not in body, f"{url} shows the raw reason code"
    assert "zaken in één uur" in client.get(f"/fg/logcontrole/{finding_id}").text


def _verdict(client: TestClient, fg: ApiUser, finding_id: int, **body: Any) -> tuple[int, dict[str, Any]]:
    r = client.post(f"/api/v1/audit/findings/{finding_id}/status", headers=fg.headers, json=body)
    return r.status_code, r.json()


def _comment(vault: Vault, finding_id: int) -> str | None:
    with vault.db.session() as session:
        found = session.get(Finding, finding_id)
        assert found is not None
        return open_sealed(
            vault,
            table="logcontrole_findings",
            column="comment",
            row_id=str(finding_id),
            sealed=found.comment_enc,
        )


def test_d21_the_subject_of_a_finding_cannot_replace_the_other_officers_explanation(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    other_fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    finding_id = probing_finding(vault, clock, fg.user_id, "privacy_officer")
    status, body = _verdict(client, other_fg, finding_id, status="in_behandeling", comment=WHY)
    assert status == 200, body

    # The officer the finding is about escalates it, with a comment of their own.
    status, body = _verdict(client, fg, finding_id, status="geescaleerd", comment="Niets aan de hand.")
    assert _comment(vault, finding_id) == WHY, "the subject replaced the other officer's explanation"
    assert (status, body.get("error")) == (403, "forbidden"), body
    with vault.db.session() as session:
        last = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.tag == AuditTag.AUDIT_FINDING_STATUS_CHANGED.value)
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert last is not None
        assert (last.actor_id, last.decision) == (fg.user_id, "deny")
    # Without a comment the subject still escalates; the explanation stays.
    status, body = _verdict(client, fg, finding_id, status="geescaleerd")
    assert status == 200, body
    assert _comment(vault, finding_id) == WHY


def test_d21_the_subject_may_still_explain_an_escalation_nobody_commented_on(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    finding_id = probing_finding(vault, clock, fg.user_id, "privacy_officer")
    status, body = _verdict(client, fg, finding_id, status="geescaleerd", comment="Graag door een ander.")
    assert status == 200, body
    assert _comment(vault, finding_id) == "Graag door een ander."


def test_d21_a_non_officer_listing_findings_is_refused_and_audited_whatever_the_cursor(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team="team-a")
    r = client.get("/api/v1/audit/findings", params={"after": "geen-cursor"}, headers=worker.headers)
    assert r.status_code == 403, r.text
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == AuditTag.AUDIT_ACCESS_DENIED.value, AuditEntry.actor_id == worker.user_id
            )
        ).all()
    assert len(denied) == 1


def test_d21_an_officer_whose_own_refusal_is_evidence_of_a_spike_can_only_escalate_it(world: World) -> None:
    from vault.errors import Forbidden
    from vault.logcontrole.service import OWN_FINDING, set_finding_status

    b2 = make_user(world.vault, Role.MEDEWERKER, teams=[world.team_b])
    noon = DAY + timedelta(hours=10)
    world.log(world.b1, noon, case_id=world.case)
    world.log(world.b1, noon + timedelta(minutes=5), case_id=world.case)
    world.log(world.fg, noon + timedelta(minutes=10), case_id=world.case, decision=Decision.DENY)
    world.log(b2, noon + timedelta(minutes=15), case_id=world.case)
    spikes = of(world.review(spike_readers=3), "spike")
    assert [f.actor_id for f in spikes] == [None]  # a spike names no one person
    officer = world.ctx(world.fg, noon + timedelta(days=1), Role.PRIVACY_OFFICER)
    refused = None
    try:
        with transaction(world.vault.db) as session:
            set_finding_status(session, world.vault, officer, spikes[0].id, "verklaard", WHY)
    except Forbidden as exc:
        refused = exc
    assert refused is not None, "the officer closed a finding whose evidence is their own attempt"
    with world.vault.db.session() as session:
        found = session.get(Finding, spikes[0].id)
        assert found is not None
        assert found.status == "nieuw"
        last = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.tag == AuditTag.AUDIT_FINDING_STATUS_CHANGED.value)
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert last is not None
        assert (last.actor_id, last.decision, last.rule) == (
            world.fg,
            "deny",
            OWN_FINDING,
        )
    with transaction(world.vault.db) as session:  # escalating it stays possible
        set_finding_status(session, world.vault, officer, spikes[0].id, "geescaleerd", None)


def test_d21_a_finding_whose_evidence_was_altered_still_opens_and_says_so(
    vault: Vault, clock: FrozenClock
) -> None:
    from sqlalchemy import text

    from tests.helpers import drop_append_only
    from vault.models import FindingEntry

    world = build_world(vault)
    client = TestClient(create_app(vault), raise_server_exceptions=False)
    web_login(client, world.officer, clock)
    finding_id = probing_finding(vault, clock, world.worker.user_id, "medewerker")  # signs a checkpoint
    with vault.db.session() as session:
        seq = session.scalars(select(FindingEntry.seq).where(FindingEntry.finding_id == finding_id)).first()
    with vault.db.engine.begin() as conn:  # what a database owner can do: rewrite one piece of evidence
        drop_append_only(conn, vault, "audit_entries")
        conn.execute(text("UPDATE audit_entries SET decision = 'allow' WHERE seq = :s"), {"s": seq})
    r = client.get(f"/fg/logcontrole/{finding_id}")
    assert r.status_code == 200, f"the finding's page is a {r.status_code} once its evidence was altered"
    assert "klopt niet met het ondertekende auditlog" in r.text
    assert f'id="entry-{seq}"' in r.text
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    r = client.get(f"/api/v1/audit/findings/{finding_id}", headers=fg.headers)
    assert r.status_code == 200, r.text
    assert r.json()["proof_error"] is True
    assert seq in r.json()["altered"]


def test_d21_a_finding_about_a_cli_operator_names_the_operator_not_an_unknown_user(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    t = int(clock.now().timestamp())
    day = clock.now().date().isoformat()
    candidate = Candidate(
        Detector.ADMIN_TAKEOVER, "os:beheer", "", day, t, t, 3.0, "password_reset+factor_reset"
    )
    with vault.db.session() as session:
        write_candidates(session, [candidate], clock.now())
        finding_id = session.scalars(select(Finding.id)).one()
    for url in (f"/fg/logcontrole/{finding_id}", "/fg/logcontrole", "/fg/logcontrole?persoon=os:beheer"):
        body = client.get(url).text
        assert "onbekende gebruiker" not in body, f"{url} calls the CLI operator an unknown user"
        assert "serverbeheer (opdrachtregel, account beheer)" in body, url


@pytest.mark.xfail(
    strict=True,
    reason="L9, not fixed: the list is ordered by a score a later review may raise; a stable order "
    "changes the documented order and cursor (docs/api.md)",
)
def test_d21_a_finding_whose_score_rises_while_the_officer_pages_is_not_skipped(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    from sqlalchemy import update

    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    t = int(clock.now().timestamp())
    day = clock.now().date().isoformat()
    candidates = [
        Candidate(
            Detector.PROBING, f"00000000-0000-4000-8000-{i:012d}", "", day, t, t, float(3 - i), "one_case"
        )
        for i in range(3)
    ]
    with vault.db.session() as session:
        write_candidates(session, candidates, clock.now())
        ids = list(session.scalars(select(Finding.id).order_by(Finding.score.desc())))
    first = client.get("/api/v1/audit/findings", params={"limit": 1}, headers=fg.headers).json()
    listed = [f["id"] for f in first["findings"]]
    with vault.db.session() as session:  # the hourly review finds more evidence: the score rises
        session.execute(update(Finding).where(Finding.id == ids[2]).values(score=5.0))
    after = first["next"]
    while after:
        page = client.get(
            "/api/v1/audit/findings", params={"limit": 1, "after": after}, headers=fg.headers
        ).json()
        listed += [f["id"] for f in page["findings"]]
        after = page["next"]
    assert sorted(listed) == sorted(ids), "a finding was never listed to the officer paging through"


def test_d21_the_page_tells_the_subject_in_dutch_that_the_explanation_stays(
    vault: Vault, clock: FrozenClock
) -> None:
    from tests.web.world import csrf_of
    from vault.context import Context
    from vault.logcontrole.service import set_finding_status

    world = build_world(vault)
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    about_self = probing_finding(vault, clock, world.officer.user_id, "privacy_officer")
    other = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    ctx = Context(
        actor_id=other.user_id,
        role=Role.PRIVACY_OFFICER.value,
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    with transaction(vault.db) as session:
        set_finding_status(session, vault, ctx, about_self, "in_behandeling", WHY)
    token = csrf_of(client.get(f"/fg/logcontrole/{about_self}").text)
    r = client.post(
        f"/fg/logcontrole/{about_self}",
        data={"csrf_token": token, "status": "geescaleerd", "comment": "Niets aan de hand."},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert "de toelichting van een andere functionaris niet vervangen" in r.text
    assert "Niets aan de hand." in r.text  # what was typed is kept
    assert _comment(vault, about_self) == WHY
