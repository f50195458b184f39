"""D20: the written break-the-glass justification is kept sealed beside the audit entry (never in it),
grouped into one emergency access per actor, case, session and text, and shown to the privacy officer
alone — in the review (API and web), the D15 access report and the export. The review's verdict has
no preset value and takes a comment, sealed the same way."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import bearer, enrol_and_verify, new_account
from tests.web.world import World, build_world, csrf_of, web_login
from vault.app import create_app
from vault.audit.export import ExportFormat, export_entries
from vault.audit.queries import EntryFilter
from vault.context import Context, FrozenClock
from vault.domain import Role, reference_of
from vault.models import AuditEntry, BreakGlassAccess, BreakGlassAccessEntry, BreakGlassReview
from vault.runtime import Vault
from vault.services.case_view import view_case

# Free text that names people: exactly what must never reach the audit log.
WHY = "Politie belt: Piet Pietersen dreigt vannacht met geweld tegen de kinderen"
OTHER_WHY = "Ziekenhuis meldt letsel bij Klaas Klaassen, team Noord is niet bereikbaar"
COMMENT = "Gebeld met teamleider Zuid: inzage was nodig, Piet Pietersen bekend bij politie"


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


@pytest.fixture
def app(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("VAULT_AUDIT_CHECKPOINT_MINUTES", "0")
    return create_app(vault)


def _outsider_ctx(vault: Vault, world: World, session_id: str) -> Context:
    return Context(
        actor_id=world.outsider.user_id,
        role=str(Role.MEDEWERKER),
        access_point="web",
        session_id=session_id,
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _break_glass_on_the_web(app: Any, world: World, clock: FrozenClock, why: str = WHY) -> TestClient:
    client = TestClient(app)
    web_login(client, world.outsider, clock)
    form = client.get(f"/zaken/{world.case_id}/noodtoegang")
    r = client.post(
        f"/zaken/{world.case_id}/noodtoegang",
        data={"justification": why, "csrf_token": csrf_of(form.text)},
    )
    assert r.status_code == 200, r.text
    return client


def _officer_api(app: Any, vault: Vault, clock: FrozenClock) -> dict[str, str]:
    client = TestClient(app)
    account = new_account(
        vault, Context.system(access_point="test", clock=clock), username="fg-api", role=Role.PRIVACY_OFFICER
    )
    enrol_and_verify(client, account, clock)
    return bearer(account.token)


def _raw_log(vault: Vault) -> str:
    with vault.db.session() as session:
        rows = session.execute(select(AuditEntry.__table__)).all()
    return json.dumps([[str(v) for v in row] for row in rows])


def test_d20_the_justification_is_sealed_beside_the_entry_and_never_in_the_log(
    vault: Vault, world: World, app: Any, clock: FrozenClock
) -> None:
    _break_glass_on_the_web(app, world, clock)
    assert "Pietersen" not in _raw_log(vault)  # D16: ids only in the log
    with vault.db.session() as session:
        flagged = list(session.scalars(select(AuditEntry.seq).where(AuditEntry.break_glass.is_(True))))
        accesses = session.scalars(select(BreakGlassAccess)).all()
        links = dict(
            session.execute(select(BreakGlassAccessEntry.seq, BreakGlassAccessEntry.access_seq)).all()
        )
    assert len(flagged) >= 2  # the case page reads the case, its subjects and titles
    assert len(accesses) == 1
    access = accesses[0]
    assert access.seq == min(flagged)
    assert access.case_id == world.case_id
    assert b"Pietersen" not in access.justification_enc
    assert WHY.encode() not in access.justification_enc
    assert links == dict.fromkeys(flagged, access.seq)  # every break-glass entry is keyed to it
    if vault.db.is_sqlite:
        database = Path(str(vault.db.url.database))
        stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
        assert b"Pietersen" not in stored


def test_d20_one_emergency_access_per_actor_case_session_and_text(vault: Vault, world: World) -> None:
    """A case page and a later view in the same session with the same text: one access. Another
    session, or another text, starts another one."""
    first = _outsider_ctx(vault, world, "session-a")
    view_case(vault, first, world.case_id, break_glass_justification=WHY)
    later = _outsider_ctx(vault, world, "session-a")  # a new request of the same session
    view_case(vault, later, world.case_id, break_glass_justification=f"  {WHY} ")
    with vault.db.session() as session:
        assert session.query(BreakGlassAccess).count() == 1
        reads = session.query(BreakGlassAccessEntry).count()
    view_case(vault, later, world.case_id, break_glass_justification=OTHER_WHY)
    view_case(vault, _outsider_ctx(vault, world, "session-b"), world.case_id, break_glass_justification=WHY)
    with vault.db.session() as session:
        assert session.query(BreakGlassAccess).count() == 3
        counts = [
            session.query(BreakGlassAccessEntry).filter_by(access_seq=a.seq).count()
            for a in session.scalars(select(BreakGlassAccess).order_by(BreakGlassAccess.seq))
        ]
    assert counts[0] == reads
    assert reads >= 4


def test_d20_the_privacy_officer_reviews_one_item_per_access_with_its_justification(
    vault: Vault, world: World, app: Any, clock: FrozenClock
) -> None:
    ctx = _outsider_ctx(vault, world, "session-a")
    view_case(vault, ctx, world.case_id, break_glass_justification=WHY)
    view_case(vault, ctx, world.case_id, break_glass_justification=WHY)
    headers = _officer_api(app, vault, clock)
    client = TestClient(app)
    listed = client.get("/api/v1/audit/break-glass", headers=headers).json()["entries"]
    assert len(listed) == 1
    item = listed[0]
    assert item["justification"] == WHY
    assert item["read_count"] == len(item["reads"]) >= 4
    assert item["case_id"] == world.case_id
    assert item["actor_id"] == world.outsider.user_id
    assert "justification_enc" not in item
    assert item["reviewed"] is False

    # The verdict has no default: without one the request is refused.
    r = client.post(
        f"/api/v1/audit/break-glass/{item['access']}/review", headers=headers, json={"comment": "x"}
    )
    assert r.status_code == 422
    # A later read of the same access is reviewed as that access, once.
    later_read = item["reads"][-1]["seq"]
    r = client.post(
        f"/api/v1/audit/break-glass/{later_read}/review",
        headers=headers,
        json={"outcome": "unjustified", "comment": COMMENT, "through_seq": later_read},
    )
    assert r.status_code == 200, r.text
    assert r.json()["access"] == item["access"]
    r = client.post(
        f"/api/v1/audit/break-glass/{item['access']}/review",
        headers=headers,
        json={"outcome": "justified", "through_seq": later_read},
    )
    assert r.status_code == 409
    reviewed = client.get("/api/v1/audit/break-glass", headers=headers).json()["entries"][0]
    assert reviewed["review"]["outcome"] == "unjustified"
    assert reviewed["review"]["comment"] == COMMENT
    with vault.db.session() as session:
        row = session.get(BreakGlassReview, item["access"])
        assert row is not None
        assert row.comment_enc is not None
        assert b"Pietersen" not in row.comment_enc
    assert "Pietersen" not in _raw_log(vault)  # the review's audit entry says only that there is a comment
    too_long = client.post(
        f"/api/v1/audit/break-glass/{item['access']}/review",
        headers=headers,
        json={"outcome": "justified", "comment": "x" * 2001},
    )
    assert too_long.status_code == 422


def test_d15_the_access_report_and_the_officers_export_carry_the_justification(
    vault: Vault, world: World, app: Any, clock: FrozenClock
) -> None:
    view_case(vault, _outsider_ctx(vault, world, "session-a"), world.case_id, break_glass_justification=WHY)
    headers = _officer_api(app, vault, clock)
    client = TestClient(app)
    report = client.get(f"/api/v1/audit/cases/{world.case_id}/access-report", headers=headers).json()
    flagged = [a for a in report["accesses"] if a["break_glass"]]
    assert flagged
    assert all(a["justification"] == WHY for a in flagged)
    assert len({a["break_glass_access"] for a in flagged}) == 1
    assert all(a["justification"] is None for a in report["accesses"] if not a["break_glass"])

    out = io.StringIO()
    export_entries(
        vault,
        Context.system(clock=clock),
        EntryFilter(case_id=world.case_id),
        ExportFormat.CSV,
        out,
        justifications=True,
    )
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["break_glass_justification"] for r in rows if r["break_glass"] == "true"} == {WHY}
    assert {r["break_glass_justification"] for r in rows if r["break_glass"] == "false"} == {""}
    out = io.StringIO()
    export_entries(
        vault, Context.system(clock=clock), EntryFilter(case_id=world.case_id), ExportFormat.JSON, out
    )
    assert "Pietersen" not in out.getvalue()  # the operator's export (CLI) never holds it


@pytest.mark.parametrize("role", [Role.MEDEWERKER, Role.TEAMLEIDER, Role.ADMIN])
def test_d20_other_staff_cannot_read_the_justification(
    vault: Vault, world: World, app: Any, clock: FrozenClock, role: Role
) -> None:
    view_case(vault, _outsider_ctx(vault, world, "session-a"), world.case_id, break_glass_justification=WHY)
    client = TestClient(app)
    account = new_account(vault, Context.system(access_point="test", clock=clock), username="nosy", role=role)
    enrol_and_verify(client, account, clock)
    for path in ("/api/v1/audit/break-glass", f"/api/v1/audit/cases/{world.case_id}/access-report"):
        r = client.get(path, headers=bearer(account.token))
        assert r.status_code == 403
        assert "Pietersen" not in r.text


def test_d20_only_the_officers_views_open_the_sealed_texts() -> None:
    """Static: nothing but the privacy officer's report service and export opens a justification."""
    root = Path(__file__).resolve().parents[2] / "vault"
    openers = {
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "open_justification" in p.read_text() or "open_comment" in p.read_text()
    }
    assert openers == {"audit/break_glass.py", "services/audit_reports.py", "audit/export.py"}


def test_d20_web_review_shows_the_justification_and_forces_a_verdict(
    vault: Vault, world: World, app: Any, clock: FrozenClock
) -> None:
    _break_glass_on_the_web(app, world, clock)
    fg = TestClient(app)
    web_login(fg, world.officer, clock)
    page = fg.get("/fg/noodtoegang")
    assert page.status_code == 200
    assert WHY in page.text
    assert page.text.count('name="outcome"') == 3
    assert " checked" not in page.text
    assert world.case_id not in page.text.replace(f"/fg/toegang/{world.case_id}", "")  # no UUID shown
    assert reference_of(world.case_id) in page.text
    assert page.text.count('<h2 id="bg-') == 1  # one emergency access, one review item
    with vault.db.session() as session:
        access = session.scalars(select(BreakGlassAccess.seq)).one()
    token = csrf_of(page.text)
    last = page.text.split('name="last_read" value="', 1)[1].split('"', 1)[0]
    r = fg.post("/fg/noodtoegang", data={"seq": str(access), "csrf_token": token, "comment": COMMENT})
    assert r.status_code == 400
    assert "Kies een oordeel" in r.text
    r = fg.post(
        "/fg/noodtoegang",
        data={
            "seq": str(access),
            "outcome": "justified",
            "comment": COMMENT,
            "csrf_token": token,
            "last_read": last,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = fg.get("/fg/noodtoegang")
    assert "Gerechtvaardigd" in page.text
    assert COMMENT in page.text
    assert 'name="outcome"' not in page.text
    report = fg.get(f"/fg/toegang/{world.case_id}")
    assert WHY in report.text
    assert reference_of(world.case_id) in report.text
    assert world.case_id not in report.text.replace(f"/fg/toegang/{world.case_id}", "")


def test_d20_a_download_in_a_group_commit_joins_the_access_of_its_session(
    vault: Vault, world: World, app: Any, clock: FrozenClock
) -> None:
    """The API's download is decided in a group commit (the audit rows go in at the end of the batch):
    the access and its links commit with the entries, and two downloads under one text are one access."""
    from urllib.parse import quote

    from tests.helpers import api_user
    from tests.web.world import OTHER_TEAM

    with TestClient(app) as client:
        user = api_user(client, vault, clock, Role.MEDEWERKER, team=OTHER_TEAM)
        headers = {**user.headers, "X-Break-Glass-Justification": quote(WHY)}
        for _ in range(2):
            r = client.get(f"/api/v1/documents/{world.withheld_doc}/content", headers=headers)
            assert r.status_code == 200, r.text
    with vault.db.session() as session:
        reads = list(
            session.scalars(
                select(AuditEntry.seq).where(
                    AuditEntry.break_glass.is_(True), AuditEntry.actor_id == user.user_id
                )
            )
        )
        accesses = session.scalars(select(BreakGlassAccess)).all()
        links = dict(
            session.execute(select(BreakGlassAccessEntry.seq, BreakGlassAccessEntry.access_seq)).all()
        )
    assert len(reads) == 2
    assert len(accesses) == 1
    assert links == dict.fromkeys(reads, accesses[0].seq)
    assert accesses[0].seq == reads[0]
    assert "Pietersen" not in _raw_log(vault)
