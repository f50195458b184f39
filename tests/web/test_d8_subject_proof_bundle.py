"""D8, D13, D15: the proof bundle the privacy officer's access-report page offers for the data subject
("Daarmee kan de betrokkene … zelf nagaan") holds exactly the entries of the subject's own overview (the
PDF): not the entries about the reporter's identity (they tell the family the reporter agreed to be
named or was released), not refused attempts, not other subjects' requests. The bundle with every
entry stays, for an auditor only, and the page says so. Both verify offline (tools/verify_bundle.py)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import api_user
from tests.web.world import World, _ctx, build_world, web_login
from tests.witness.conftest import (  # noqa: F401  (fixtures)
    WitnessProcess,
    _no_periodic_checkpoints,
    log_entry,
    start_witness,
)
from vault.app import create_app
from vault.audit.checkpoints import CheckpointSigner
from vault.context import FrozenClock
from vault.domain import Role
from vault.errors import VaultError
from vault.runtime import Vault
from vault.services.access_overview import subject_report
from vault.services.case_view import view_case
from vault.services.subjects import record_reporter_consent

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_bundle.py"
REPORTER_FACTS = "dossier:reporter-identity:"


@pytest.fixture
def witnessed(
    vault: Vault,
    start_witness: Callable[..., WitnessProcess],  # noqa: F811  (the witness tests' fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> list[WitnessProcess]:
    witnesses = [start_witness(f"w{i}.example/witness", [log_entry(vault)]) for i in range(2)]
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", "\n".join(w.config_entry for w in witnesses))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", "2")
    return witnesses


def _verify(vault: Vault, witnesses: list[WitnessProcess], raw: bytes) -> str:
    spec = importlib.util.spec_from_file_location("verify_bundle_under_test", TOOL)
    assert spec is not None
    assert spec.loader is not None
    tool: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    log_key = tool.Key(CheckpointSigner.for_vault(vault).verifier_key(), 1)
    result: str = tool.verify_bundle(raw, log_key, [tool.Key(w.vkey, 4) for w in witnesses], 2, None)
    return result


def _case_with_withheld_entries(vault: Vault) -> World:
    """A case whose log holds what D8 and D13 withhold: the reporter's consent to be named and a
    refused attempt (a colleague outside the team, without a justification)."""
    world = build_world(vault)
    record_reporter_consent(vault, _ctx(vault, world.worker), world.case_id)
    with pytest.raises(VaultError):
        view_case(vault, _ctx(vault, world.outsider), world.case_id)
    with vault.db.session() as session:
        report = subject_report(session, world.case_id)
    assert report.left_out["reporter"] > 0
    assert report.left_out["refused"] > 0
    return world


def _officer(vault: Vault, clock: FrozenClock, world: World) -> TestClient:
    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.officer, clock)
    return web


def _entries(raw: bytes) -> list[dict[str, Any]]:
    return [item["entry"] for item in json.loads(raw)["entries"]]


def _withheld(entries: list[dict[str, Any]]) -> list[tuple[int, str, str | None]]:
    return [
        (e["seq"], e["tag"], e["actor_role"])
        for e in entries
        if e["tag"].startswith(REPORTER_FACTS)
        or e["decision"] != "allow"
        or e["actor_role"] == "professional"
    ]


def test_d8_d13_bundle_offered_for_the_subject_holds_only_their_overview_and_verifies(
    vault: Vault, clock: FrozenClock, witnessed: list[WitnessProcess]
) -> None:
    """The reviewer's reproduction, through the page's own link: the bundle for the betrokkene holds
    exactly the entries of their overview, and it still verifies offline."""
    world = _case_with_withheld_entries(vault)
    web = _officer(vault, clock, world)
    with vault.db.session() as session:
        shown = [r["seq"] for r in subject_report(session, world.case_id).rows]

    r = web.get(f"/fg/toegang/{world.case_id}/bewijs")
    assert r.status_code == 200, r.text[:300]
    entries = _entries(r.content)
    withheld = _withheld(entries)
    assert withheld == [], f"the bundle for the betrokkene holds entries D8/D13 withhold: {withheld}"
    assert [e["seq"] for e in entries] == shown
    assert "bewijs-betrokkene-VT-" in r.headers["content-disposition"]
    assert _verify(vault, witnessed, r.content).startswith(f"OK: {len(shown)} entries")
    page = web.get(f"/fg/toegang/{world.case_id}")
    assert page.status_code == 200
    assert f'href="/fg/toegang/{world.case_id}/bewijs" download>Bewijs voor de betrokkene' in page.text


def test_d15_full_bundle_is_labelled_for_auditors_only_and_verifies(
    vault: Vault, clock: FrozenClock, witnessed: list[WitnessProcess]
) -> None:
    """The bundle with every entry stays for an auditor; the page never offers it to the betrokkene."""
    world = _case_with_withheld_entries(vault)
    web = _officer(vault, clock, world)
    page = web.get(f"/fg/toegang/{world.case_id}").text
    full_section = page.split("Volledig bewijs, alleen voor een controleur", 1)[1]
    assert "Niet aan de betrokkene geven" in full_section
    assert f'href="/fg/toegang/{world.case_id}/bewijs?volledig=ja"' in full_section

    r = web.get(f"/fg/toegang/{world.case_id}/bewijs?volledig=ja")
    assert r.status_code == 200, r.text[:300]
    entries = _entries(r.content)
    assert any(e["tag"].startswith(REPORTER_FACTS) for e in entries)
    assert any(e["decision"] == "deny" for e in entries)
    assert _verify(vault, witnessed, r.content).startswith(f"OK: {len(entries)} entries")


def test_d8_d13_api_bundle_for_the_subject_leaves_out_what_the_overview_withholds(
    vault: Vault, clock: FrozenClock
) -> None:
    """The API: ``for_subject=true`` gives the subject's bundle; without it, the auditor's full one."""
    world = _case_with_withheld_entries(vault)
    client = TestClient(create_app(vault), base_url="https://testserver")
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    path = f"/api/v1/audit/cases/{world.case_id}/access-report/bundle"
    for_subject = client.get(path, params={"for_subject": "true"}, headers=officer.headers)
    assert for_subject.status_code == 200, for_subject.text
    assert _withheld(_entries(for_subject.content)) == []
    assert _entries(for_subject.content)
    full = client.get(path, headers=officer.headers)
    assert full.status_code == 200, full.text
    assert _withheld(_entries(full.content)) != []
