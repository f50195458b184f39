"""Review S18, storage: an object store that stalls (answers nothing, keeps the connection) while a
download's admission is being decided.

The gate starts the object read inside the admission's transaction (S1 of session 14: an outage rolls
the admission back). A store that is *down* refuses the connection at once; one that *stalls* (a
frozen SeaweedFS, a hung load balancer) kept that transaction — SQLite's write lock, on PostgreSQL the
audit chain's lock and the one writer thread, on SQLite in a server the event loop — for the client's
read timeout times its retries (60 s × 3): every login, page and upload of the process waited.

The store here is a real SeaweedFS of the test's own (tests/s3.py), frozen with SIGSTOP and thawed
with SIGCONT; nothing is mocked.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from tests.s3 import KillableSeaweedFS, killable_seaweedfs, s3_settings
from vault.config import Settings
from vault.domain import Role
from vault.errors import Unavailable
from vault.http.errors import status_for
from vault.runtime import Vault
from vault.services.gate import admit_read
from vault.transaction import transaction

# How long another audited action may wait for a download whose store stalls.
_BOUND_SECONDS = 15.0


@pytest.fixture
def object_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KillableSeaweedFS]:
    with killable_seaweedfs(tmp_path, monkeypatch) as own:
        yield own


@pytest.fixture
def settings(settings: Settings, object_store: KillableSeaweedFS) -> Settings:
    return s3_settings(settings, object_store.server)


def _pid(store: KillableSeaweedFS) -> int:
    proc = store._proc  # the test's own SeaweedFS process (tests/s3.py)
    assert proc is not None
    assert proc.poll() is None
    return proc.pid


def test_s18_a_stalled_object_store_does_not_hold_every_audited_action_of_the_vault(
    vault: Vault, object_store: KillableSeaweedFS
) -> None:
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    doc = upload(vault, worker, case_id, b"Verslag van het huisbezoek op 12 maart.\n" * 100)

    outcome: dict[str, object] = {}

    def download() -> None:
        try:
            with transaction(vault.db) as session:
                admit_read(session, vault, worker, doc)
            outcome["download"] = "admitted"
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted below
            outcome["download"] = exc

    def other_action() -> None:
        try:
            outcome["case"] = new_case(vault, worker, team)  # an audited write of the same process
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted below
            outcome["case"] = exc

    pid = _pid(object_store)
    os.kill(pid, signal.SIGSTOP)  # the store keeps its sockets and answers nothing
    reader = threading.Thread(target=download, daemon=True)
    other = threading.Thread(target=other_action, daemon=True)
    try:
        reader.start()
        time.sleep(1.0)  # the download's transaction is waiting for the store
        other.start()
        other.join(_BOUND_SECONDS)
        still_waiting = other.is_alive()
        reader.join(1.0)
        download_waiting = reader.is_alive()
    finally:
        os.kill(pid, signal.SIGCONT)
    reader.join(240)
    other.join(240)

    assert not still_waiting, (
        f"opening a case waited more than {_BOUND_SECONDS:.0f} s for a download whose store stalled"
    )
    assert isinstance(outcome["case"], str), f"opening a case failed meanwhile: {outcome['case']!r}"
    assert not download_waiting, "the stalled download itself was not answered within the bound"
    failure = outcome["download"]
    assert isinstance(failure, Unavailable), failure
    assert status_for(failure) == 503
    assert object_store.server.bucket not in failure.message
    assert object_store.server.endpoint not in failure.message
