"""D16: the outside verifier refuses an export whose entries say two things at once.

A JSON object that names a key twice is read one way by Python (the last value wins) and another by
other readers and by a person reading the file (the first). ``verify_bundle`` already refused that in
a bundle; ``verify_export`` accepted it, so an export with a forged first ``actor_id`` passed while
every first-wins reader showed the forged value. The tool is run as an auditor runs it.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.witness.helpers import append
from vault.audit.checkpoints import CheckpointSigner, create_checkpoint
from vault.audit.export import ExportFormat, export_entries
from vault.audit.queries import EntryFilter
from vault.context import Context
from vault.runtime import Vault

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_bundle.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle_duplicate_keys", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _export(vault: Vault) -> str:
    out = io.StringIO()
    operator = Context(actor_id="os:auditor", role="operator", access_point="cli", clock=vault.clock)
    export_entries(vault, operator, EntryFilter(), ExportFormat.JSON, out)
    return out.getvalue()


def test_d16_verify_export_refuses_an_entry_that_names_a_key_twice(vault: Vault, tmp_path: Path) -> None:
    append(vault, 4)
    info = create_checkpoint(vault)
    text = _export(vault)
    entries = json.loads(text)
    real = json.dumps(entries[1], ensure_ascii=True)
    assert text.count(real) == 1
    # The stored values stay last (what json.loads keeps, so every hash still checks out); a forged
    # actor comes first, which is what a first-wins reader shows.
    forged = text.replace(real, real.replace('{"', '{"actor_id": "forged-actor", "', 1))
    (tmp_path / "export.json").write_text(forged)
    (tmp_path / "checkpoint.txt").write_text(info.note)
    log_key = CheckpointSigner.for_vault(vault).verifier_key()

    def verify(export: str) -> subprocess.CompletedProcess[str]:
        args = ["--export", export, "--checkpoint", "checkpoint.txt", "--log-key", log_key, "--quorum", "0"]
        return subprocess.run(
            [sys.executable, str(TOOL), *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    refused = verify("export.json")
    assert refused.returncode == 1
    assert refused.stderr == "FAILED: duplicate key in a JSON object\n"
    assert refused.stdout == ""
    # The same export without the forged key passes: the refusal is the duplicate, nothing else.
    (tmp_path / "export.json").write_text(text)
    passed = verify("export.json")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith(f"OK: entries 1..{info.size} match")


def test_d16_verify_bundle_and_verify_export_refuse_duplicate_keys_alike(vault: Vault) -> None:
    tool = _tool()
    append(vault, 2)
    info = create_checkpoint(vault)
    log_key = tool.Key(CheckpointSigner.for_vault(vault).verifier_key(), 1)
    twice = b'[{"seq": 1, "seq": 1}]'
    with pytest.raises(tool.Failed, match=r"^duplicate key in a JSON object$"):
        tool.verify_export(twice, info.note, log_key, [], 0, None)
    with pytest.raises(tool.Failed, match=r"^duplicate key in a JSON object$"):
        tool.verify_bundle(b'{"format": 1, "format": 1}', log_key, [], 0, None)
