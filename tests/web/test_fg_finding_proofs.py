"""D21: every evidence entry of a logcontrole finding shows on the finding page whether it is in the
signed log (its inclusion proof checked, all from one pass over the log) and links its proof file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ctx_for
from tests.web.world import World, web_login
from vault.app import create_app
from vault.audit import record
from vault.audit.checkpoints import create_checkpoint
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.logcontrole.engine import run_review
from vault.runtime import Vault

DENIALS = 8  # more than the five that used to be proved


@pytest.fixture
def officer_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.officer, clock)
        yield client


def test_d21_every_evidence_entry_links_its_proof(
    officer_client: TestClient, vault: Vault, clock: FrozenClock, world: World
) -> None:
    ctx = ctx_for(vault, world.outsider.user_id, Role.MEDEWERKER)
    denied, case_id = AuditTag.DOSSIER_ACCESS_DENIED, world.case_id
    with vault.db.session() as session:
        seqs = [record(session, ctx, denied, case_id=case_id, decision=Decision.DENY) for _ in range(DENIALS)]
    create_checkpoint(vault)
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    run_review(vault, Context.system(access_point="test", clock=clock), day, day + timedelta(days=1))
    listing = officer_client.get("/fg/logcontrole").text
    [finding_path] = set(re.findall(r'href="(/fg/logcontrole/\d+)"', listing))
    body = officer_client.get(finding_path).text
    items = {int(seq): text for seq, text in re.findall(r'<li id="entry-(\d+)">(.*?)</li>', body, re.S)}
    assert set(seqs) <= set(items)
    for seq in seqs:
        assert "Opgenomen in checkpoint" in items[seq]
        assert f'href="/fg/bewijs/{seq}"' in items[seq]
    last = officer_client.get(f"/fg/bewijs/{seqs[-1]}")
    assert last.status_code == 200
    [item] = json.loads(last.content)["entries"]
    assert item["leaf_index"] == seqs[-1] - 1
