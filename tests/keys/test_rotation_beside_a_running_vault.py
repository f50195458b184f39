"""Rotation while other processes run, and rotation interrupted between the key provider and the
database (D18 key management, D11 destruction through the KEK epoch, D16 rotation audited).

Two `Vault` objects on one database and one key provider are two processes (``vault serve`` and an
operator's ``vault keys …``): each has its own engine, its own provider session and its own copy of the
provider's keys. The real CLI runs where the finding was made through it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from structlog.testing import capture_logs

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from tests.keys.conftest import PROVIDERS
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Role
from vault.errors import Conflict, Unavailable
from vault.models import AuditEntry, Case, KekEpoch
from vault.repositories.keys import case_key_version
from vault.runtime import Vault, open_vault
from vault.services import key_admin, keyring
from vault.services.cases import DEFAULT_LEGAL_BASIS
from vault.services.documents import read_document
from vault.services.setup import initialise

VAULT = [sys.executable, "-m", "vault.cli.main"]


def _read(vault: Vault, ctx: Context, doc: str) -> bytes:
    return b"".join(read_document(vault, ctx, doc).chunks)


def _staff(vault: Vault) -> tuple[str, Context]:
    team = make_team(vault)
    return team, ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)


def _epochs(vault: Vault) -> dict[int, KekEpoch]:
    with vault.db.session() as session:
        return {e.version: e for e in session.scalars(select(KekEpoch))}


def _rotate_entries(vault: Vault, version: int) -> list[AuditEntry]:
    with vault.db.session() as session:
        stmt = select(AuditEntry).where(
            AuditEntry.tag == AuditTag.SYSTEM_KEYS_ROTATE.value, AuditEntry.object_id == str(version)
        )
        return list(session.scalars(stmt))


@pytest.fixture
def server(settings: Settings, clock: FrozenClock) -> Iterator[Vault]:
    v = initialise(settings, clock=clock)
    yield v
    v.close()


@pytest.fixture
def operator(server: Vault, clock: FrozenClock) -> Iterator[Vault]:
    """Another process on the same database and key provider: the operator's ``vault keys …``."""
    v = open_vault(server.settings, clock=clock)
    yield v
    v.close()


# -- finding 1: a running process and rotate + remove-version in another ---------------------------


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env["VAULT_HOME"] = str(settings.home)
    env["VAULT_DATABASE_URL"] = settings.url.render_as_string(hide_password=False)
    env["VAULT_KEY_PROVIDER"] = settings.key_provider
    if settings.key_provider == "pkcs11":
        assert settings.pkcs11_pin is not None
        env["VAULT_PKCS11_MODULE"] = settings.pkcs11_module
        env["VAULT_PKCS11_TOKEN_LABEL"] = settings.pkcs11_token_label
        env["VAULT_PKCS11_KEY_LABEL"] = settings.pkcs11_key_label
        env["VAULT_PKCS11_PIN"] = settings.pkcs11_pin.get_secret_value()
    if settings.key_provider == "openbao":
        assert settings.openbao_token is not None
        env["VAULT_OPENBAO_ADDR"] = settings.openbao_addr
        env["VAULT_OPENBAO_KEY"] = settings.openbao_key
        env["VAULT_OPENBAO_TOKEN"] = settings.openbao_token.get_secret_value()
    return env


def _cli(vault: Vault | Settings, *args: str) -> subprocess.CompletedProcess[str]:
    settings = vault.settings if isinstance(vault, Vault) else vault
    return subprocess.run(
        [*VAULT, *args], env=_env(settings), capture_output=True, text=True, timeout=120, check=False
    )


def _rotate_and_remove_one(settings: Settings, clock: FrozenClock) -> None:
    """The operator, in another process: rotate (rewrapping everything), then remove epoch 1. A
    PKCS#11 token takes one login per process, so there it is the real CLI; elsewhere a second
    `Vault` (in this process, as the finding was reproduced)."""
    if settings.key_provider == "pkcs11":
        for args in (("rotate", "--retire-after", "1d"), ("remove-version", "1")):
            done = _cli(settings, "keys", *args)
            assert done.returncode == 0, done.stderr
        return
    operator = open_vault(settings, clock=clock)
    try:
        op = Context.system(access_point="cli", clock=clock)
        assert keyring.rotate_kek(operator, op, retire_after=timedelta(days=1)) == 2
        list(keyring.rewrap_all(operator, op))
        keyring.remove_kek_version(operator, op, 1)
    finally:
        operator.close()


@pytest.mark.parametrize("kind", PROVIDERS)
def test_d18_d11_running_vault_wraps_new_case_keys_under_the_database_epoch_after_another_process_rotates(
    kind: str, settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    settings = settings_for(kind)
    server = initialise(settings, clock=clock)  # `vault serve`, started before the rotation
    try:
        team, ctx = _staff(server)
        case_a = new_case(server, ctx, team)
        doc_a = upload(server, ctx, case_a, b"dossier A")
        _rotate_and_remove_one(settings, clock)
        # The server still runs: a new case goes under epoch 2, never under the destroyed epoch 1.
        case_b = new_case(server, ctx, team)
        doc_b = upload(server, ctx, case_b, b"dossier B, na de rotatie")
        with server.db.session() as session:
            assert case_key_version(session, case_b) == 2
        # It also opens what the other process rewrapped under epoch 2.
        assert _read(server, ctx, doc_a) == b"dossier A"
        assert _read(server, ctx, doc_b) == b"dossier B, na de rotatie"
    finally:
        server.close()
    restarted = open_vault(settings, clock=clock)
    try:
        assert _read(restarted, ctx, doc_a) == b"dossier A"
        assert _read(restarted, ctx, doc_b) == b"dossier B, na de rotatie"
        # Rotation is not stuck: the next one rewraps both cases and destroys epoch 2.
        op = Context.system(access_point="cli", clock=clock)
        assert keyring.start_rotation(restarted, op, retire_after=timedelta(days=1)) == (3, False)
        assert [p.done for p in keyring.rewrap_all(restarted, op)] == [2]
        keyring.remove_kek_version(restarted, op, 2)
        assert _read(restarted, ctx, doc_b) == b"dossier B, na de rotatie"
    finally:
        restarted.close()


def test_d18_d11_cli_rotate_and_remove_version_beside_a_running_vault_loses_no_case(
    server: Vault, clock: FrozenClock
) -> None:
    """The reviewer's reproduction, with the real CLI in another process."""
    team, ctx = _staff(server)
    doc_a = upload(server, ctx, new_case(server, ctx, team), b"dossier A")
    assert _cli(server, "keys", "rotate", "--retire-after", "1d").returncode == 0
    removed = _cli(server, "keys", "remove-version", "1")
    assert removed.returncode == 0, removed.stderr
    case_b = new_case(server, ctx, team)
    doc_b = upload(server, ctx, case_b, b"dossier B")
    with server.db.session() as session:
        assert case_key_version(session, case_b) == 2
    status = _cli(server, "keys", "status")
    assert "epoch 1: 0 keys, destroyed" in status.stdout
    rotated = _cli(server, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    restarted = open_vault(server.settings, clock=clock)
    try:
        assert _read(restarted, ctx, doc_a) == b"dossier A"
        assert _read(restarted, ctx, doc_b) == b"dossier B"
    finally:
        restarted.close()


def test_d18_d11_case_key_wrapped_while_another_process_rotates_and_destroys_the_epoch_is_never_lost(
    server: Vault, operator: Vault, clock: FrozenClock
) -> None:
    """A case key wrapped under epoch 1 in a transaction still open while the operator rotates and
    removes epoch 1: the rotation waits for it (PostgreSQL: the epoch row is locked FOR SHARE; SQLite:
    one writer), then rewraps the key, and only then can epoch 1 go."""
    team, ctx = _staff(server)
    opened, release = threading.Event(), threading.Event()
    created: list[str] = []

    def open_and_hold() -> None:
        # The case's key is wrapped and stored; the transaction has not committed (nor taken the
        # audit lock, which would order it against the rotation's audit entry by itself).
        with server.db.session() as session:
            now = clock.now()
            case = Case(
                id=str(uuid.uuid4()),
                kind=CaseKind.REPORT.value,
                team_id=team,
                legal_basis=DEFAULT_LEGAL_BASIS,
                created_at=now,
                last_changed_at=now,
                destroy_after=now + timedelta(days=7300),
            )
            session.add(case)
            session.flush()
            keyring.create_case_key(session, ctx, server.keys, case.id)
            created.append(case.id)
            opened.set()
            release.wait(30)

    outcome: list[object] = []

    def rotate_and_remove() -> None:
        op = Context.system(access_point="cli", clock=clock)
        try:
            keyring.rotate_kek(operator, op, retire_after=timedelta(days=1))
            list(keyring.rewrap_all(operator, op))
            keyring.remove_kek_version(operator, op, 1)
            outcome.append("removed")
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    holder = threading.Thread(target=open_and_hold)
    holder.start()
    assert opened.wait(30)
    rotation = threading.Thread(target=rotate_and_remove)
    rotation.start()
    time.sleep(1.0)
    still_waiting = rotation.is_alive()
    release.set()
    holder.join(30)
    rotation.join(60)
    assert still_waiting, "the rotation must wait for the transaction that wraps a key under epoch 1"
    assert outcome == ["removed"]
    (case_id,) = created
    with server.db.session() as session:
        assert case_key_version(session, case_id) == 2
        assert len(keyring.unwrap_case_key(session, server.keys, case_id).reveal()) == 32
    assert _epochs(server)[1].destroyed_at is not None


def test_d18_d11_an_epoch_is_not_destroyed_while_a_key_is_wrapped_under_it(
    server: Vault, operator: Vault, clock: FrozenClock
) -> None:
    team, ctx = _staff(server)
    case_id = new_case(server, ctx, team)
    op = Context.system(access_point="cli", clock=clock)
    keyring.rotate_kek(operator, op, retire_after=timedelta(days=1))  # not yet rewrapped
    with pytest.raises(Conflict, match=r"still wraps \d+ keys"):
        keyring.remove_kek_version(operator, op, 1)
    clock.advance(days=2)
    with capture_logs() as logs:
        assert keyring.destroy_due_epochs(operator, op) == []
    assert {"event": "kek_epoch_destruction_postponed", "version": 1, "reason": "keys_still_wrapped"} in [
        {k: v for k, v in line.items() if k != "log_level"} for line in logs
    ]  # said, not silent
    with pytest.raises(Conflict, match="current"):
        keyring.remove_kek_version(server, op, 2)  # the database's current epoch, whatever a process holds
    assert _epochs(server)[1].destroyed_at is None
    list(keyring.rewrap_all(operator, op))
    assert keyring.destroy_due_epochs(operator, op) == [1]
    with server.db.session() as session:
        assert len(keyring.unwrap_case_key(session, server.keys, case_id).reveal()) == 32


def _cases(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


@pytest.mark.parametrize("state", ["retired_at", "destroyed_at"])
def test_d18_no_case_key_is_wrapped_under_a_retired_or_destroyed_epoch(
    server: Vault, clock: FrozenClock, state: str
) -> None:
    team, ctx = _staff(server)
    before = _cases(server)
    with server.db.session() as session:
        session.execute(update(KekEpoch).where(KekEpoch.version == 1).values({state: clock.now()}))
    with pytest.raises(Unavailable, match=f"KEK epoch 1, the newest in the database, is {state[:-3]}"):
        new_case(server, ctx, team)
    assert _cases(server) == before


def test_d18_no_case_key_is_wrapped_under_an_epoch_the_provider_does_not_hold(
    server: Vault, clock: FrozenClock
) -> None:
    """The database names an epoch this process's provider lacks (a migration to another provider
    this process was not restarted for): fail closed, never fall back to an epoch it holds."""
    team, ctx = _staff(server)
    before = _cases(server)
    with server.db.session() as session:
        session.add(KekEpoch(version=5, provider="openbao", created_at=clock.now()))
    with pytest.raises(Unavailable, match=r"KEK epoch 5 is current but file:.* does not hold it"):
        new_case(server, ctx, team)
    assert _cases(server) == before


# -- finding 2: a rotation killed between the provider and the database -----------------------------


def _killed_after_the_provider_step(vault: Vault) -> int:
    """Step 1 of `rotate_kek` (the provider makes the KEK), then the process dies."""
    version = vault.keys.rotate()
    vault.close()
    return version


def test_d16_d11_rotation_killed_before_its_epoch_was_committed_is_completed_by_the_cli_rerun(
    settings: Settings, clock: FrozenClock
) -> None:
    vault = initialise(settings, clock=clock)
    team, ctx = _staff(vault)
    new_case(vault, ctx, team)
    assert _killed_after_the_provider_step(vault) == 2
    vault = open_vault(settings, clock=clock)
    try:
        rerun = _cli(vault, "keys", "rotate", "--retire-after", "1d")
        assert rerun.returncode == 0, rerun.stderr
        assert "resuming the rotation to epoch 2" in rerun.stderr
        epochs = _epochs(vault)
        assert sorted(epochs) == [1, 2]
        one = epochs[1]
        assert one.retired_at is not None
        assert one.destroy_after is not None
        assert one.destroy_after - one.retired_at == timedelta(days=1)
        assert epochs[2].retired_at is None
        (entry,) = _rotate_entries(vault, 2)
        assert json.loads(entry.details) == {"retire_after_days": 1}
        status = _cli(vault, "keys", "status")
        assert "epoch 1: 0 keys, retired" in status.stdout
    finally:
        vault.close()


def test_d16_d11_completing_a_killed_rotation_is_idempotent_and_keeps_the_retire_after(
    settings: Settings, clock: FrozenClock
) -> None:
    vault = initialise(settings, clock=clock)
    team, ctx = _staff(vault)
    case_id = new_case(vault, ctx, team)
    _killed_after_the_provider_step(vault)
    op = Context.system(access_point="cli", clock=clock)
    vault = open_vault(settings, clock=clock)
    try:
        assert keyring.start_rotation(vault, op, retire_after=timedelta(days=3)) == (2, True)
        retired = _epochs(vault)[1]
        # Killed again before any key was rewrapped; the rerun completes nothing twice.
        clock.advance(hours=2)
        assert keyring.start_rotation(vault, op, retire_after=timedelta(days=3)) == (2, True)
        again = _epochs(vault)[1]
        assert (again.retired_at, again.destroy_after) == (retired.retired_at, retired.destroy_after)
        assert again.destroy_after == clock.now() - timedelta(hours=2) + timedelta(days=3)
        assert len(_rotate_entries(vault, 2)) == 1
        assert [p.done for p in keyring.rewrap_all(vault, op)] == [1]
        # Finished now: the next run is a new rotation, and epoch 1 goes on its date.
        assert keyring.unfinished_rotation(vault) is None
        clock.advance(days=3)
        assert keyring.start_rotation(vault, op, retire_after=timedelta(days=3)) == (3, False)
        list(keyring.rewrap_all(vault, op))
        assert keyring.destroy_due_epochs(vault, op) == [1]
        with vault.db.session() as session:
            assert case_key_version(session, case_id) == 3
            assert len(keyring.unwrap_case_key(session, vault.keys, case_id).reveal()) == 32
    finally:
        vault.close()


# -- two key commands at once ----------------------------------------------------------------------


def test_d18_a_second_key_command_while_one_runs_is_refused_and_changes_nothing(
    server: Vault, clock: FrozenClock
) -> None:
    """Two rotations at once would each make a KEK of the same version in the provider (the file
    provider's last writer wins, and keys rewrapped under the lost one are lost). While one ``vault
    keys`` command changes keys, every other is refused at once, across processes."""
    team, ctx = _staff(server)
    doc = upload(server, ctx, new_case(server, ctx, team), b"dossier")
    with server.db.session() as session:
        entries_before = session.scalar(select(func.count()).select_from(AuditEntry))
    with key_admin.key_changes(server):  # an operator's `vault keys rotate`, still running
        for args in (
            ("rotate",),
            ("destroy-due",),
            ("remove-version", "1"),
            ("split",),
            ("migrate", "--to", f"file:{server.settings.home}/other-keys.json"),
        ):
            refused = _cli(server, "keys", *args)
            assert refused.returncode == 1, (args, refused.stderr)
            assert refused.stderr.splitlines() == [
                "error: another `vault keys` command is changing the keys; run it again when that one "
                "has finished"
            ], args
        assert _cli(server, "keys", "status").returncode == 0, "reading the status is not a change"
    assert set(_epochs(server)) == {1}
    with server.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries_before
    assert not (server.settings.home / "other-keys.json").exists()
    rotated = _cli(server, "keys", "rotate")  # the first one has finished: the next one runs
    assert rotated.returncode == 0, rotated.stderr
    assert set(_epochs(server)) == {1, 2}
    assert _read(server, ctx, doc) == b"dossier"
