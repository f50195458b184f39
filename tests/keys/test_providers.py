"""Every key provider for real (key file, SoftHSM2 over PKCS#11, OpenBao transit): upload, rotate, read;
misbound or altered wrapped keys refused with the vault's opaque error; start-up and request-time
failures (D18)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.helpers import ctx_for, new_case, upload, worker_with_document
from tests.keys.conftest import PROVIDERS, Hsm, start_bao, stop_bao
from vault.config import Settings
from vault.context import FrozenClock
from vault.crypto.envelope import DEK_PURPOSE
from vault.crypto.keys import SubkeyPurpose, WrappedKey
from vault.crypto.providers import open_provider
from vault.domain import Role
from vault.errors import ConfigError, Integrity, NotFound, Unavailable
from vault.runtime import Vault, key_provider_spec, open_vault
from vault.services import key_admin, keyring
from vault.services.documents import read_document
from vault.services.setup import initialise

KEY = bytes(range(32))


def _read(vault: Vault, ctx: object, doc: str) -> bytes:
    return b"".join(read_document(vault, ctx, doc).chunks)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", PROVIDERS)
def test_d18_upload_rotate_read_with_each_provider(
    kind: str, settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    settings = settings_for(kind)
    vault = initialise(settings, clock=clock)
    try:
        assert vault.keys.provider.kind == kind
        ctx, doc = worker_with_document(vault, b"verslag " * 1000)
        blind_index = vault.keys.subkey(SubkeyPurpose.BLIND_INDEX).reveal()
        version = keyring.rotate_kek(vault, ctx)
        assert version == 2
        assert [p.done for p in keyring.rewrap_all(vault, ctx)] == [1]
        assert _read(vault, ctx, doc) == b"verslag " * 1000
        assert key_admin.key_status(vault).keys_per_version == {1: 0, 2: 1}
        keyring.remove_kek_version(vault, ctx, 1)
        assert vault.keys.versions() == [2]
    finally:
        vault.close()
    again = open_vault(settings, clock=clock)
    try:
        # The subkeys were rewrapped under epoch 2 and still open after epoch 1 is gone.
        assert again.keys.subkey(SubkeyPurpose.BLIND_INDEX).reveal() == blind_index
        assert _read(again, ctx, doc) == b"verslag " * 1000
    finally:
        again.close()


@pytest.mark.parametrize("kind", PROVIDERS)
def test_d18_misbound_or_altered_wrapped_keys_are_refused_opaquely(
    kind: str, settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    vault = initialise(settings_for(kind), clock=clock)
    try:
        keys = vault.keys
        v1 = keys.wrap(KEY, purpose=DEK_PURPOSE, context_id="case-a")
        assert KEY not in v1.blob
        assert keys.unwrap(v1, purpose=DEK_PURPOSE, context_id="case-a") == KEY
        keys.rotate()
        v2 = keys.wrap(KEY, purpose=DEK_PURPOSE, context_id="case-a")
        assert v2.version == 2
        refused = [
            (v1, DEK_PURPOSE, "case-b"),  # wrong case
            (v1, "subkey", "case-a"),  # wrong purpose (AAD)
            (WrappedKey(2, v1.blob), DEK_PURPOSE, "case-a"),  # wrong version claimed
            (WrappedKey(1, v2.blob), DEK_PURPOSE, "case-a"),
            (WrappedKey(1, v1.blob[:-1] + bytes([v1.blob[-1] ^ 1])), DEK_PURPOSE, "case-a"),  # altered
            (WrappedKey(1, v1.blob[:10]), DEK_PURPOSE, "case-a"),  # truncated
        ]
        for wrapped, purpose, context in refused:
            with pytest.raises(Integrity) as err:
                keys.unwrap(wrapped, purpose=purpose, context_id=context)
            assert str(err.value) == str(Integrity())
        # A version newer than any the provider holds, even after reloading it, is a key moved by
        # `vault keys migrate` to a provider this process was not restarted for: 503, not tampering.
        with pytest.raises(Unavailable, match="KEK epoch 7 is not held by"):
            keys.unwrap(WrappedKey(7, v1.blob), purpose=DEK_PURPOSE, context_id="case-a")
        assert keys.unwrap(v1, purpose=DEK_PURPOSE, context_id="case-a") == KEY
    finally:
        vault.close()


def test_d18_pkcs11_kek_is_sensitive_and_not_extractable(
    settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    from pkcs11 import Attribute
    from pkcs11 import exceptions as p11

    from vault.crypto.pkcs11 import Pkcs11KeyProvider

    vault = initialise(settings_for("pkcs11"), clock=clock)
    try:
        provider = vault.keys.provider
        assert isinstance(provider, Pkcs11KeyProvider)
        vault.keys.rotate()
        for version in (1, 2):
            kek = provider.key_object(version)
            assert kek[Attribute.EXTRACTABLE] is False
            assert kek[Attribute.SENSITIVE] is True
            assert kek[Attribute.NEVER_EXTRACTABLE] is True
            assert kek[Attribute.TOKEN] is True
            with pytest.raises((p11.AttributeSensitive, p11.PKCS11Error)):
                _ = kek[Attribute.VALUE]
        vault.keys.remove_version(1)
        with pytest.raises(NotFound):
            provider.key_object(1)
    finally:
        vault.close()


# -- start-up: one clear line, no secret -------------------------------------------------------------


def _startup_error(settings: Settings) -> str:
    with pytest.raises(ConfigError) as err:
        open_provider(key_provider_spec(settings))
    message = str(err.value)
    assert message.startswith("VAULT_KEY_PROVIDER: ")
    assert "\n" not in message
    return message


def test_pkcs11_wrong_pin_or_missing_token_stops_start_up(
    hsm: Hsm, settings_for: Callable[[str], Settings]
) -> None:
    settings = settings_for("pkcs11")
    wrong = settings.model_copy(update={"pkcs11_pin": SecretStr("98765")})
    message = _startup_error(wrong)
    assert "PIN" in message
    assert "98765" not in message
    assert "1234" not in message
    assert "token" in _startup_error(settings.model_copy(update={"pkcs11_token_label": "no-such-token"}))
    assert "module" in _startup_error(settings.model_copy(update={"pkcs11_module": "/nonexistent/lib.so"}))
    assert "PIN" in _startup_error(settings.model_copy(update={"pkcs11_pin": None}))


def test_openbao_unreachable_or_bad_token_stops_start_up(settings_for: Callable[[str], Settings]) -> None:
    settings = settings_for("openbao")
    token = settings.openbao_token.get_secret_value() if settings.openbao_token else ""
    assert "cannot be reached" in _startup_error(
        settings.model_copy(update={"openbao_addr": "http://127.0.0.1:9"})
    )
    message = _startup_error(settings.model_copy(update={"openbao_token": SecretStr("s.wrong-token")}))
    assert "refused the token" in message
    assert "wrong-token" not in message
    assert token not in message
    # Not initialised: the transit key is missing.
    assert "vault init" in _startup_error(settings)


def test_cli_start_up_with_a_wrong_pin_prints_one_line_and_exits_non_zero(
    hsm: Hsm, settings_for: Callable[[str], Settings], clock: FrozenClock
) -> None:
    settings = settings_for("pkcs11")
    initialise(settings, clock=clock).close()
    env = {
        **os.environ,
        "VAULT_HOME": str(settings.home),
        "VAULT_DATABASE_URL": settings.database_url or "",
        "VAULT_KEY_PROVIDER": "pkcs11",
        "VAULT_PKCS11_MODULE": hsm.module,
        "VAULT_PKCS11_TOKEN_LABEL": hsm.token_label,
        "VAULT_PKCS11_KEY_LABEL": settings.pkcs11_key_label,
        "VAULT_PKCS11_PIN": "4444",
    }
    vault_cli = [sys.executable, "-c", "from vault.cli.main import main; main()"]
    result = subprocess.run(
        [*vault_cli, "keys", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: VAULT_KEY_PROVIDER: pkcs11: the token refused the PIN (VAULT_PKCS11_PIN)"
    ]
    assert "4444" not in result.stderr + result.stdout
    env["VAULT_PKCS11_PIN"] = hsm.pin
    ok = subprocess.run([*vault_cli, "keys", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "epoch 1 (current)" in ok.stdout


def test_openbao_failure_during_a_request_is_unavailable(
    tmp_path: Path, settings: Settings, clock: FrozenClock
) -> None:
    proc, bao = start_bao(tmp_path)
    try:
        settings = settings.model_copy(
            update={
                "key_provider": "openbao",
                "openbao_addr": bao.addr,
                "openbao_token": SecretStr(bao.token),
            }
        )
        vault = initialise(settings, clock=clock)
        wrapped = vault.keys.wrap(KEY, purpose=DEK_PURPOSE, context_id="case-a")
    finally:
        stop_bao(proc)
    try:
        with pytest.raises(Unavailable) as err:
            vault.keys.unwrap(wrapped, purpose=DEK_PURPOSE, context_id="case-a")
        assert bao.token not in str(err.value)
        with pytest.raises(Unavailable):
            vault.keys.wrap(KEY, purpose=DEK_PURPOSE, context_id="case-b")
    finally:
        vault.close()


def test_d18_key_provider_down_during_a_download_is_503_and_discloses_nothing(
    tmp_path: Path, settings: Settings, clock: FrozenClock
) -> None:
    from fastapi.testclient import TestClient

    from tests.helpers import api_user, team_id_of
    from vault.app import create_app

    proc, bao = start_bao(tmp_path)
    stopped = False
    settings = settings.model_copy(
        update={"key_provider": "openbao", "openbao_addr": bao.addr, "openbao_token": SecretStr(bao.token)}
    )
    vault = initialise(settings, clock=clock)
    try:
        with TestClient(create_app(vault)) as client:
            worker = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Noord")
            ctx = ctx_for(vault, worker.user_id, Role.MEDEWERKER)
            doc = upload(vault, ctx, new_case(vault, ctx, team_id_of(vault, "Team Noord")), b"kanarie-inhoud")
            ok = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
            assert ok.status_code == 200
            assert ok.content == b"kanarie-inhoud"
            stop_bao(proc)
            stopped = True
            r = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
            assert r.status_code == 503
            assert b"kanarie" not in r.content
            assert bao.token.encode() not in r.content
    finally:
        vault.close()
        if not stopped:
            stop_bao(proc)
