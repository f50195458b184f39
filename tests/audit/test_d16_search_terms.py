"""D16: no plaintext personal data in an audit entry — also not in the privacy officer's own search and
export entries, which record their terms. A term is an id or code of the log (a case UUID, an actor id,
an action tag, a detector); anything else is refused before anything is recorded, naming the term and
never echoing what was typed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.foundation.test_cli import _env, run_cli
from tests.helpers import api_user
from tests.web.world import build_world, web_login
from vault.app import create_app
from vault.audit import record
from vault.audit.export import ExportFormat, export_entries
from vault.audit.queries import EntryFilter
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role
from vault.errors import InvalidInput
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.audit_reports import search_log
from vault.transaction import transaction

NAME = "Kanarie Jansen"
PHONE = "Piet de Vries 0612345678"
CASE = "0b6c9d2e-4a8f-4c1e-9b7a-2f3d4e5a6b7c"
ACTOR = "5d0c1c4e-9a51-4c35-8a3e-7f2b1d9e0a11"


def _count(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _last(vault: Vault) -> AuditEntry:
    with vault.db.session() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        session.expunge(entry)
        return entry


def _all_text(vault: Vault) -> str:
    with vault.db.session() as session:
        return " ".join(
            f"{e.case_id} {e.actor_id} {e.object_id} {e.details}" for e in session.scalars(select(AuditEntry))
        )


@pytest.mark.parametrize(
    ("parameter", "typed"),
    [("case_id", NAME), ("actor_id", PHONE), ("tag", "Anna Bakker"), ("case_id", CASE.upper() + "x")],
)
def test_d16_free_text_search_terms_are_refused_with_nothing_recorded(
    client: TestClient, vault: Vault, clock: FrozenClock, parameter: str, typed: str
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    before = _count(vault)
    r = client.get("/api/v1/audit/entries", params={parameter: typed}, headers=fg.headers)
    assert r.status_code == 422
    assert parameter in r.json()["detail"]
    assert typed not in r.text
    assert _count(vault) == before
    assert typed not in _all_text(vault)


@pytest.mark.parametrize("suffix", ["access-report", "access-report/bundle"])
def test_d16_a_case_access_report_is_asked_by_case_id_not_by_name(
    client: TestClient, vault: Vault, clock: FrozenClock, suffix: str
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    before = _count(vault)
    r = client.get(f"/api/v1/audit/cases/{NAME}/{suffix}", headers=fg.headers)
    assert r.status_code == 422
    assert NAME not in r.text
    assert _count(vault) == before
    assert NAME not in _all_text(vault)


def test_d16_ids_and_codes_are_searched_and_recorded_as_given(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    for actor in (ACTOR, "system", "public_form", "os:beheerder"):
        params = {"case_id": CASE, "actor_id": actor, "tag": "dossier:case:read"}
        r = client.get("/api/v1/audit/entries", params=params, headers=fg.headers)
        assert r.status_code == 200, r.text
        details = json.loads(_last(vault).details)
        assert (details["case_filter"], details["actor_filter"], details["tag_filter"]) == (
            CASE,
            actor,
            "dossier:case:read",
        )


def test_d16_findings_filters_are_codes_and_ids(client: TestClient, vault: Vault, clock: FrozenClock) -> None:
    fg = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    before = _count(vault)
    for params in ({"person": PHONE}, {"detector": NAME}):
        r = client.get("/api/v1/audit/findings", params=params, headers=fg.headers)
        assert r.status_code == 422
        assert next(iter(params)) in r.json()["detail"]
        assert next(iter(params.values())) not in r.text
    assert _count(vault) == before
    r = client.get(
        "/api/v1/audit/findings", params={"person": ACTOR, "detector": "probing"}, headers=fg.headers
    )
    assert r.status_code == 200, r.text
    details = json.loads(_last(vault).details)
    assert (details["person"], details["detector"]) == (ACTOR, "probing")


def test_d16_services_refuse_free_text_terms_before_recording(vault: Vault, clock: FrozenClock) -> None:
    """The same check below the API: the export (CLI and web) and the search service."""
    world = build_world(vault)
    officer = Context(
        actor_id=world.officer.user_id,
        role=str(Role.PRIVACY_OFFICER),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    before = _count(vault)
    for terms in (EntryFilter(case_id=NAME), EntryFilter(actor_id=PHONE), EntryFilter(tag="Anna Bakker")):
        with pytest.raises(InvalidInput) as refused:
            export_entries(vault, officer, terms, ExportFormat.JSON, io.StringIO())
        assert NAME not in str(refused.value)
        assert PHONE not in str(refused.value)
        with pytest.raises(InvalidInput), transaction(vault.db) as session:
            search_log(session, vault, officer, terms)
    assert _count(vault) == before


def test_d16_a_name_given_to_the_cli_export_is_refused(
    vault: Vault, system_ctx: Context, tmp_path: Path, database_url: str
) -> None:
    with vault.db.session() as session:
        record(session, system_ctx, AuditTag.SYSTEM_READINESS_PROBE, case_id=CASE)
    env = _env(vault.settings.resolved_home, database_url)
    before = _count(vault)
    for option, typed in (("--case", NAME), ("--actor", PHONE), ("--tag", "Anna Bakker")):
        out = tmp_path / f"export{option}.json"
        done = run_cli(["audit", "export", option, typed, "--format", "json", "--output", str(out)], env)
        assert done.returncode != 0
        assert done.stderr.startswith("error: ")
        assert typed not in done.stderr
        assert not out.exists()
    assert _count(vault) == before
    assert NAME not in _all_text(vault)
    good = tmp_path / "case.json"
    done = run_cli(["audit", "export", "--case", CASE, "--format", "json", "--output", str(good)], env)
    assert done.returncode == 0, done.stderr
    assert _last(vault).case_id == CASE


def test_d16_the_findings_page_takes_an_actor_id_not_a_name(vault: Vault, clock: FrozenClock) -> None:
    world = build_world(vault)
    officer, staff = TestClient(create_app(vault)), TestClient(create_app(vault))
    web_login(officer, world.officer, clock)
    web_login(staff, world.outsider, clock)
    before = _count(vault)
    assert officer.get("/fg/logcontrole", params={"persoon": PHONE}).status_code == 400
    assert _count(vault) == before
    assert PHONE not in _all_text(vault)
    assert staff.get("/fg/logcontrole", params={"persoon": PHONE}).status_code == 403
    assert json.loads(_last(vault).details) == {"attempted": AuditTag.AUDIT_FINDINGS_LISTED.value}
    assert officer.get("/fg/logcontrole", params={"persoon": world.worker.user_id}).status_code == 200
    assert json.loads(_last(vault).details)["person"] == world.worker.user_id
