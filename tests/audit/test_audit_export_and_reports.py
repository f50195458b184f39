"""Export (NEN 7513 fields, audited) and the privacy officer's API (D15, D20): log data only."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.auth.conftest import Account, bearer, enrol_and_verify, new_account
from tests.helpers import make_org, make_team, make_user
from vault.app import create_app
from vault.audit import record
from vault.audit.checkpoints import create_checkpoint
from vault.audit.export import ExportFormat, export_entries
from vault.audit.queries import ENTRY_COLUMNS, EntryFilter
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision, OrgType, Role
from vault.models import AuditEntry
from vault.runtime import Vault

# Search and export terms are ids of the log (UUIDs), never free text.
ACTOR_A = "a0000000-0000-4000-8000-00000000000a"
ACTOR_B = "b0000000-0000-4000-8000-00000000000b"
WORKER = "c0000000-0000-4000-8000-00000000000c"
CASE_1 = "11111111-0000-4000-8000-000000000001"
CASE_2 = "22222222-0000-4000-8000-000000000002"


def _entry(vault: Vault, ctx: Context, **fields: object) -> int:
    with vault.db.session() as session:
        return record(session, ctx, fields.pop("tag", AuditTag.DOSSIER_DOCUMENT_READ), **fields)  # type: ignore[arg-type]


def _actor(vault: Vault, user_id: str, role: Role, org_id: str | None = None) -> Context:
    return Context(actor_id=user_id, role=str(role), org_id=org_id, access_point="api", clock=vault.clock)


def _tags(vault: Vault) -> list[str]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry.tag).order_by(AuditEntry.seq)))


def test_d16_export_filters_by_case_actor_and_time_in_csv_and_json(vault: Vault, clock: FrozenClock) -> None:
    a, b = _actor(vault, ACTOR_A, Role.MEDEWERKER), _actor(vault, ACTOR_B, Role.MEDEWERKER)
    _entry(vault, a, case_id=CASE_1, object_type="document", object_id="d1", legal_basis="wmo")
    clock.advance(hours=1)
    _entry(vault, b, case_id=CASE_1, object_type="document", object_id="=cmd|calc")
    _entry(vault, a, case_id=CASE_2)
    clock.advance(hours=1)
    _entry(vault, a, case_id=CASE_1, break_glass=True)
    operator = Context(actor_id="os:tester", role="operator", access_point="cli", clock=clock)
    start = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    out = io.StringIO()
    n = export_entries(vault, operator, EntryFilter(case_id=CASE_1, since=start), ExportFormat.CSV, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert n == len(rows) == 3
    assert tuple(rows[0]) == ENTRY_COLUMNS
    # two entries in the window, and the export's own entry (about case-1, committed before it ran)
    assert [r["actor_id"] for r in rows] == [ACTOR_B, ACTOR_A, "os:tester"]
    assert rows[0]["object_id"] == "'=cmd|calc"  # CSV injection defused

    out = io.StringIO()
    n = export_entries(
        vault,
        operator,
        EntryFilter(actor_id=ACTOR_A, until=start + timedelta(hours=1)),
        ExportFormat.JSON,
        out,
    )
    data = json.loads(out.getvalue())
    assert n == len(data) == 2
    assert {d["case_id"] for d in data} == {CASE_1, CASE_2}
    assert set(data[0]) == set(ENTRY_COLUMNS)
    assert data[0]["occurred_at"].endswith("Z")
    assert _tags(vault).count("audit:log:exported") == 2  # the export is itself audited


# --- the API -------------------------------------------------------------------------------------

ROUTES = [
    ("get", "/api/v1/audit/entries"),
    ("get", f"/api/v1/audit/cases/{CASE_1}/access-report"),
    ("get", "/api/v1/audit/break-glass"),
    ("post", "/api/v1/audit/break-glass/1/review"),
    ("get", "/api/v1/audit/integrity"),
    ("get", "/api/v1/audit/checkpoints/latest"),
    ("get", "/api/v1/audit/proof/inclusion?seq=1"),
]


@pytest.fixture
def client(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("VAULT_AUDIT_CHECKPOINT_MINUTES", "0")
    return TestClient(create_app(vault))


def _verified(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock, name: str, role: Role
) -> Account:
    account = new_account(vault, system_ctx, username=name, role=role)
    enrol_and_verify(client, account, clock)
    return account


@pytest.mark.parametrize("role", [Role.MEDEWERKER, Role.TEAMLEIDER, Role.ADMIN])
def test_d16_only_the_privacy_officer_may_use_any_audit_route(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock, role: Role
) -> None:
    account = _verified(client, vault, system_ctx, clock, "nosy", role)
    for method, path in ROUTES:
        body = {"json": {"outcome": "justified", "through_seq": 1}} if method == "post" else {}
        r = getattr(client, method)(path, headers=bearer(account.token), **body)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert "entries" not in r.json()
        assert "accesses" not in r.json()
    denied = [t for t in _tags(vault) if t == "audit:access:denied"]
    assert len(denied) == len(ROUTES)  # every refusal is audited


def test_audit_routes_refuse_callers_without_a_session(client: TestClient) -> None:
    for method, path in ROUTES:
        assert getattr(client, method)(path).status_code == 401


def test_d15_access_report_names_who_when_what_and_on_which_ground(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    team = make_team(vault)
    org = make_org(vault, OrgType.POLICE, name="Politie Eenheid Test")
    worker = make_user(vault, Role.MEDEWERKER, teams=[team])
    partner = make_user(vault, Role.PARTNER, org_id=org)
    _entry(
        vault,
        _actor(vault, worker, Role.MEDEWERKER),
        case_id=CASE_1,
        object_type="document",
        object_id="doc-1",
        legal_basis="wmo-2015-4.1.1",
        purpose="investigation",
        rule="p:staff-team-read",
    )
    _entry(
        vault,
        _actor(vault, partner, Role.PARTNER, org),
        case_id=CASE_1,
        object_type="document",
        object_id="doc-2",
        legal_basis="consent",
        purpose="safety-plan",
        rule="p:partner-grant",
    )
    _entry(
        vault,
        _actor(vault, worker, Role.MEDEWERKER),
        case_id=CASE_1,
        tag=AuditTag.DOSSIER_CASE_READ,
        break_glass=True,
        rule="p:break-glass-read",
    )
    _entry(vault, _actor(vault, worker, Role.MEDEWERKER), case_id="case-other")
    officer = _verified(client, vault, system_ctx, clock, "fg", Role.PRIVACY_OFFICER)

    r = client.get(f"/api/v1/audit/cases/{CASE_1}/access-report", headers=bearer(officer.token))
    assert r.status_code == 200, r.text
    lines = r.json()["accesses"]
    assert len(lines) == 3
    first, second, third = lines
    assert first["username"].startswith("u-")
    assert first["role"] == "medewerker"
    assert first["organisation"] is None
    assert (first["action"], first["object_id"], first["legal_basis"], first["purpose"]) == (
        "dossier:document:read",
        "doc-1",
        "wmo-2015-4.1.1",
        "investigation",
    )
    assert second["organisation"] == "Politie Eenheid Test"
    assert second["role"] == "partner"
    assert third["break_glass"] is True
    assert second["break_glass"] is False
    assert all("occurred_at" in line for line in lines)
    # The names were looked up now: the log itself holds ids only.
    with vault.db.session() as session:
        stored = session.scalars(select(AuditEntry).where(AuditEntry.case_id == CASE_1)).all()
    assert all("Politie" not in str(e.details) and e.actor_id in {worker, partner} for e in stored[:3])
    assert _tags(vault)[-1] == "audit:access-report:viewed"


def test_d20_break_glass_entries_are_listed_newest_first_and_reviewed_once(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    ctx = _actor(vault, "w-1", Role.MEDEWERKER)
    first = _entry(vault, ctx, case_id=CASE_1, break_glass=True)
    _entry(vault, ctx, case_id=CASE_1)
    second = _entry(vault, ctx, case_id="case-2", break_glass=True)
    officer = _verified(client, vault, system_ctx, clock, "fg", Role.PRIVACY_OFFICER)
    headers = bearer(officer.token)

    listed = client.get("/api/v1/audit/break-glass", headers=headers).json()["entries"]
    assert [e["seq"] for e in listed] == [second, first]
    assert not any(e["reviewed"] for e in listed)

    r = client.post(
        f"/api/v1/audit/break-glass/{first}/review",
        headers=headers,
        json={"outcome": "justified", "through_seq": first},
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/audit/break-glass/{first}/review",
        headers=headers,
        json={"outcome": "unjustified", "through_seq": first},
    )
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/audit/break-glass/{first + 1}/review",
        headers=headers,
        json={"outcome": "justified", "through_seq": first + 1},
    )
    assert r.status_code == 404  # not a break-the-glass entry
    r = client.post(
        f"/api/v1/audit/break-glass/{second}/review", headers=headers, json={"outcome": "Jan was here"}
    )
    assert r.status_code == 422  # an outcome is a code, never free text

    listed = client.get("/api/v1/audit/break-glass", headers=headers).json()["entries"]
    assert {e["seq"]: e["reviewed"] for e in listed} == {first: True, second: False}
    assert listed[1]["review"]["outcome"] == "justified"
    unreviewed = client.get("/api/v1/audit/break-glass?unreviewed_only=true", headers=headers).json()[
        "entries"
    ]
    assert [e["seq"] for e in unreviewed] == [second]
    assert "audit:break-glass:reviewed" in _tags(vault)


def test_privacy_officer_searches_pages_proves_and_sees_log_data_only(
    client: TestClient, vault: Vault, system_ctx: Context, clock: FrozenClock
) -> None:
    ctx = _actor(vault, WORKER, Role.MEDEWERKER)
    for i in range(5):
        _entry(vault, ctx, case_id=CASE_1, object_id=f"doc-{i}")
    _entry(vault, ctx, case_id=CASE_1, decision=Decision.DENY, tag=AuditTag.DOSSIER_ACCESS_DENIED)
    officer = _verified(client, vault, system_ctx, clock, "fg", Role.PRIVACY_OFFICER)
    headers = bearer(officer.token)

    page = client.get(f"/api/v1/audit/entries?case_id={CASE_1}&limit=3", headers=headers).json()
    assert [e["object_id"] for e in page["entries"]] == ["doc-0", "doc-1", "doc-2"]
    rest = client.get(
        f"/api/v1/audit/entries?case_id={CASE_1}&after_seq={page['next_after_seq']}", headers=headers
    ).json()
    assert len(rest["entries"]) == 3
    assert rest["next_after_seq"] is None
    denied = client.get(f"/api/v1/audit/entries?decision=deny&actor_id={WORKER}", headers=headers).json()[
        "entries"
    ]
    assert [e["tag"] for e in denied] == ["dossier:access:denied"]
    assert client.get("/api/v1/audit/entries?limit=501", headers=headers).status_code == 422
    for entry in page["entries"]:
        assert set(entry) == set(ENTRY_COLUMNS)  # log fields only, nothing from a case

    assert client.get("/api/v1/audit/checkpoints/latest", headers=headers).status_code == 404
    cp = create_checkpoint(vault)
    latest = client.get("/api/v1/audit/checkpoints/latest", headers=headers).json()
    assert latest["size"] == cp.size
    assert latest["note"] == cp.note
    proof = client.get("/api/v1/audit/proof/inclusion?seq=2", headers=headers).json()
    assert proof["tree_size"] == cp.size
    assert proof["entry"]["seq"] == 2
    assert proof["checkpoint"] == cp.note
    integrity = client.get("/api/v1/audit/integrity", headers=headers).json()
    assert integrity["chain_ok"] is True
    # Never green before a full verification has passed (tests/audit/test_integrity_status.py).
    assert (integrity["ok"], integrity["state"]) == (False, "never_verified")
    assert integrity["latest_checkpoint"]["size"] == cp.size
    tags = _tags(vault)
    for tag in (
        "audit:log:searched",
        "audit:checkpoint:viewed",
        "audit:proof:issued",
        "audit:integrity:viewed",
    ):
        assert tag in tags
