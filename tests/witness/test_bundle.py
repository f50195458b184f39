"""Proof bundles and the stand-alone verifier: a kept file checks out with public keys only."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import api_user
from tests.witness.conftest import WitnessProcess, log_entry
from tests.witness.helpers import append
from vault.app import create_app
from vault.audit.checkpoints import CheckpointSigner
from vault.audit.export import ExportFormat, export_entries
from vault.audit.queries import EntryFilter
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.runtime import Vault

Start = Callable[..., WitnessProcess]
TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_bundle.py"

CASE = "c0ffee00-0000-4000-8000-000000000001"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle_under_test", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def witnessed(vault: Vault, start_witness: Start, monkeypatch: pytest.MonkeyPatch) -> list[WitnessProcess]:
    witnesses = [start_witness(f"w{i}.example/witness", [log_entry(vault)]) for i in range(2)]
    monkeypatch.setenv("VAULT_AUDIT_WITNESSES", "\n".join(w.config_entry for w in witnesses))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", "2")
    return witnesses


def _keys(vault: Vault, witnesses: list[WitnessProcess]) -> tuple[str, list[str]]:
    return CheckpointSigner.for_vault(vault).verifier_key(), [w.vkey for w in witnesses]


def test_d15_bundles_of_an_entry_and_an_access_report_verify_and_any_changed_byte_fails(
    vault: Vault, clock: FrozenClock, witnessed: list[WitnessProcess]
) -> None:
    append(vault, 5, case_id=CASE)
    append(vault, 3, case_id="case-2")
    append(vault, 2, case_id=CASE)
    client = TestClient(create_app(vault))
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    entry = client.get("/api/v1/audit/entries/3/bundle", headers=officer.headers)
    report = client.get(f"/api/v1/audit/cases/{CASE}/access-report/bundle", headers=officer.headers)
    assert entry.status_code == report.status_code == 200, (entry.text, report.text)
    assert "attachment" in report.headers["content-disposition"]
    tool = _tool()
    log_key, witness_keys = _keys(vault, witnessed)
    keys = (tool.Key(log_key, 1), [tool.Key(k, 4) for k in witness_keys], 2, None)
    assert tool.verify_bundle(entry.content, *keys).startswith("OK: 1 entries")
    # case-1's seven reads, and the issue of the first bundle (about an entry of case-1): the report
    # bundle covers entries up to the moment it was asked for.
    assert tool.verify_bundle(report.content, *keys).startswith("OK: 8 entries")
    seqs = [e["entry"]["seq"] for e in json.loads(report.content)["entries"]]
    assert seqs[:7] == [2, 3, 4, 5, 6, 10, 11]  # seq 1 is the setup entry
    # Issuing a bundle is audited.
    tags = client.get("/api/v1/audit/entries?tag=audit:proof:issued", headers=officer.headers).json()
    assert len(tags["entries"]) == 2
    # The quorum: a verifier that requires a third witness it was given refuses.
    with pytest.raises(tool.Failed, match="only 2 of 3"):
        tool.verify_bundle(
            report.content, tool.Key(log_key, 1), [*keys[1], tool.Key(_third_witness_key(), 4)], 3, None
        )

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def any_changed_byte_fails(data: st.DataObject) -> None:
        raw = data.draw(st.sampled_from([entry.content, report.content]))
        position = data.draw(st.integers(0, len(raw) - 1))
        # Whitespace and look-alike characters too: a byte JSON would read the same way must fail as well.
        likely = st.sampled_from(list(b' \t\n\r"0123456789abcdefABCDEF+/=,:{}[]'))
        value = data.draw(st.one_of(likely, st.integers(0, 255)).filter(lambda b: b != raw[position]))
        altered = raw[:position] + bytes([value]) + raw[position + 1 :]
        with pytest.raises(tool.Failed):
            tool.verify_bundle(altered, *keys)

    any_changed_byte_fails()
    with pytest.raises(tool.Failed, match="canonical"):  # same JSON value, other spelling
        tool.verify_bundle(entry.content.replace(b'\n "format"', b'\n\t"format"'), *keys)


def _third_witness_key() -> str:
    from vault.audit.cosignature import cosigner_verifier_key

    return cosigner_verifier_key("inspectie.example/witness", bytes(range(1, 33)))


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    """A PYTHONPATH with only ``cryptography`` (and its ``cffi`` backend): no vault, no site-packages."""
    deps = tmp_path / "deps"
    deps.mkdir()
    for name in ("cryptography", "cffi", "_cffi_backend"):
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (deps / source.name).symlink_to(source)
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(deps)}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages (so no editable install of the vault), -s: no user site; cwd is a bare folder.
    return subprocess.run(
        [sys.executable, "-S", "-s", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_verifier_passes_on_a_real_export_with_no_vault_code_importable(
    vault: Vault, clock: FrozenClock, witnessed: list[WitnessProcess], tmp_path: Path
) -> None:
    append(vault, 40)
    client = TestClient(create_app(vault))
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    bundle = client.get("/api/v1/audit/entries/7/bundle", headers=officer.headers)
    assert bundle.status_code == 200, bundle.text
    latest = client.get("/api/v1/audit/checkpoints/latest", headers=officer.headers).json()
    out = io.StringIO()
    operator = Context(actor_id="os:auditor", role="operator", access_point="cli", clock=clock)
    export_entries(vault, operator, EntryFilter(), ExportFormat.JSON, out)

    work = tmp_path / "auditor"
    work.mkdir()
    shutil.copy(TOOL, work / "verify_bundle.py")
    (work / "bundle.json").write_bytes(bundle.content)
    (work / "export.json").write_text(out.getvalue())
    (work / "checkpoint.txt").write_text(latest["cosigned_note"])
    env = _isolated_env(tmp_path)
    probe = _run(["-c", "import vault"], work, env)
    assert probe.returncode != 0
    assert "No module named 'vault'" in probe.stderr
    log_key, witness_keys = _keys(vault, witnessed)
    keys = ["--log-key", log_key, *(a for k in witness_keys for a in ("--witness", k)), "--quorum", "2"]

    done = _run(["verify_bundle.py", "bundle.json", *keys], work, env)
    assert done.returncode == 0, done.stderr
    done = _run(
        ["verify_bundle.py", "--export", "export.json", "--checkpoint", "checkpoint.txt", *keys], work, env
    )
    assert done.returncode == 0, done.stderr
    assert f"entries 1..{latest['size']}" in done.stdout

    # An export with one entry altered (its hash recomputed too) no longer matches the signed root.
    entries = json.loads(out.getvalue())
    entries[3]["object_id"] = "doc-other"
    tool = _tool()
    entries[3]["entry_hash"] = tool.entry_hash(entries[3])
    for later in entries[4:]:  # even rebuilding the whole chain after it does not help
        later["prev_hash"] = entries[later["seq"] - 2]["entry_hash"]
        later["entry_hash"] = tool.entry_hash(later)
    (work / "export.json").write_text(json.dumps(entries))
    done = _run(
        ["verify_bundle.py", "--export", "export.json", "--checkpoint", "checkpoint.txt", *keys], work, env
    )
    assert done.returncode == 1
    assert "differs from the signed root" in done.stderr


def test_d16_only_the_privacy_officer_gets_a_bundle_and_a_refusal_is_audited(
    vault: Vault, clock: FrozenClock
) -> None:
    append(vault, 3)
    client = TestClient(create_app(vault))
    worker = api_user(client, vault, clock, Role.ADMIN)
    for path in ("/api/v1/audit/entries/2/bundle", f"/api/v1/audit/cases/{CASE}/access-report/bundle"):
        r = client.get(path, headers=worker.headers)
        assert r.status_code == 403, r.text
        assert "entries" not in r.text
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    denied = client.get("/api/v1/audit/entries?tag=audit:access:denied", headers=officer.headers).json()
    assert [json.loads(e["details"])["attempted"] for e in denied["entries"]] == ["audit:proof:issued"] * 2
    assert client.get("/api/v1/audit/entries/999/bundle", headers=officer.headers).status_code == 404
