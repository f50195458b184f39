"""docs/deployment.md: "every reload is an audit entry, so the log shows which nodes reloaded". The
entry names the node (host name, process id, a digest of its VAULT_HOME: one server per home) and a
digest of the policy it now runs; nothing personal, nothing secret (D16: ids and codes only)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import AuditTag
from vault.models import AuditEntry
from vault.policy import DEFAULT_MODEL_PATH, DEFAULT_POLICY_PATH, PolicyHolder
from vault.runtime import Vault
from vault.services.policy_admin import reload_policy
from vault.services.setup import initialise


def _reload_details(vault: Vault) -> list[dict[str, Any]]:
    with vault.db.session() as session:
        rows = session.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.tag == str(AuditTag.SYSTEM_POLICY_RELOAD))
            .order_by(AuditEntry.seq)
        ).all()
    return [json.loads(row) for row in rows]


def test_d16_each_nodes_reload_entry_names_the_node_and_the_policy_it_runs(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    one = Settings(
        home=tmp_path / "node1",
        database_url=database_url,
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
    )
    two = one.model_copy(
        update={
            "home": tmp_path / "node2",
            "key_file": one.resolved_key_file,
            "root_key_file": one.resolved_root_key_file,
        }
    )
    node1 = initialise(one, clock=clock)
    node2 = initialise(two, clock=clock)
    model, policy = tmp_path / "model.conf", tmp_path / "policy.csv"
    shutil.copyfile(DEFAULT_MODEL_PATH, model)
    shutil.copyfile(DEFAULT_POLICY_PATH, policy)
    node2.policy = PolicyHolder(model, policy)
    try:
        reload_policy(node1, Context.system(access_point="sighup", clock=clock))
        reload_policy(node2, Context.system(access_point="sighup", clock=clock))
        policy.write_text(policy.read_text() + "\n# a comment changes no decision\n")
        reload_policy(node2, Context.system(access_point="sighup", clock=clock))
        first_line = next(line for line in policy.read_text().splitlines() if line.startswith("p,"))
        policy.write_text(policy.read_text() + first_line + "\n")  # one more line: another policy
        reload_policy(node2, Context.system(access_point="sighup", clock=clock))
        details = _reload_details(node1)
    finally:
        node1.close()
        node2.close()

    assert len(details) == 4
    homes = [hashlib.sha256(str(s.resolved_home).encode()).hexdigest()[:16] for s in (one, two, two, two)]
    for entry, home in zip(details, homes, strict=True):
        assert entry["node"] == socket.gethostname()[:64]
        assert entry["pid"] == os.getpid()
        assert entry["home_sha256"] == home
        assert len(entry["policy_sha256"]) == 64
    assert details[0]["home_sha256"] != details[1]["home_sha256"], "two servers on one host told apart"
    assert details[0]["policy_sha256"] == details[1]["policy_sha256"] == details[2]["policy_sha256"]
    assert details[3]["policy_sha256"] != details[2]["policy_sha256"]
    assert details[3]["lines"] == details[2]["lines"] + 1
    text = json.dumps(details)
    assert str(tmp_path) not in text, "the home path itself (it may hold an account name) is not logged"
