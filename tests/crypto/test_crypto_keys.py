"""The local key provider: KEK versions, wrapping, rotation, subkeys and the key file (D18, D11/D12)."""

from __future__ import annotations

import base64
import json
import os
import pickle
import stat
from pathlib import Path

import pytest

from vault.crypto.keys import (
    KeyProvider,
    LocalFileKeyProvider,
    SecretKey,
    SubkeyPurpose,
    WrappedKey,
)
from vault.errors import ConfigError, Conflict, Integrity, NotFound

KEY = bytes(range(32))


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys.json"


@pytest.fixture
def provider(key_path: Path) -> LocalFileKeyProvider:
    return LocalFileKeyProvider.create(key_path)


def file_secrets(path: Path) -> list[str]:
    doc = json.loads(path.read_text())
    return [*doc["keks"].values(), *doc["subkeys"].values()]


# -- key file -----------------------------------------------------------------------------------------


def test_create_writes_a_0600_file_and_leaves_no_temp_files(
    key_path: Path, provider: LocalFileKeyProvider
) -> None:
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["keys.json"]
    assert json.loads(key_path.read_text())["format"] == "vault-keys/1"
    assert provider.versions() == [1]
    assert provider.current_version() == 1


def test_create_refuses_to_overwrite_an_existing_key_file(
    key_path: Path, provider: LocalFileKeyProvider
) -> None:
    before = key_path.read_bytes()
    with pytest.raises(ConfigError, match="VAULT_HOME"):
        LocalFileKeyProvider.create(key_path)
    assert key_path.read_bytes() == before
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["keys.json"]


def test_create_in_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VAULT_HOME"):
        LocalFileKeyProvider.create(tmp_path / "nope" / "keys.json")


def test_open_missing_file_names_vault_home(key_path: Path) -> None:
    with pytest.raises(ConfigError, match="VAULT_HOME") as err:
        LocalFileKeyProvider.open(key_path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o666, 0o601])
def test_open_refuses_loose_permissions(key_path: Path, provider: LocalFileKeyProvider, mode: int) -> None:
    key_path.chmod(mode)
    with pytest.raises(ConfigError, match="loose permissions") as err:
        LocalFileKeyProvider.open(key_path)
    message = str(err.value)
    assert "0600" in message
    assert "VAULT_HOME" in message
    assert "\n" not in message


def test_open_accepts_owner_only_modes(key_path: Path, provider: LocalFileKeyProvider) -> None:
    key_path.chmod(0o400)
    assert LocalFileKeyProvider.open(key_path).versions() == [1]


def test_open_refuses_a_symlink(tmp_path: Path, key_path: Path, provider: LocalFileKeyProvider) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(key_path)
    with pytest.raises(ConfigError, match="VAULT_HOME"):
        LocalFileKeyProvider.open(link)


def _rewrite(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc))
    path.chmod(0o600)


@pytest.mark.parametrize(
    "damage",
    [
        "not json",
        "wrong format",
        "current missing",
        "current not a kek",
        "short kek",
        "bad base64",
        "subkey missing",
        "duplicate subkeys",
        "version not a number",
    ],
)
def test_open_malformed_file_is_a_config_error_without_key_material(
    key_path: Path, provider: LocalFileKeyProvider, damage: str
) -> None:
    doc = json.loads(key_path.read_text())
    secrets_before = file_secrets(key_path)
    if damage == "not json":
        key_path.write_text(key_path.read_text()[:-20])
    else:
        if damage == "wrong format":
            doc["format"] = "vault-keys/99"
        elif damage == "current missing":
            del doc["current"]
        elif damage == "current not a kek":
            doc["current"] = 7
        elif damage == "short kek":
            doc["keks"]["1"] = base64.b64encode(b"short").decode()
        elif damage == "bad base64":
            doc["keks"]["1"] = "!!" + doc["keks"]["1"]
        elif damage == "subkey missing":
            del doc["subkeys"]["pseudonym"]
        elif damage == "duplicate subkeys":
            doc["subkeys"]["pseudonym"] = doc["subkeys"]["blind_index"]
        elif damage == "version not a number":
            doc["keks"]["x1"] = doc["keks"].pop("1")
        _rewrite(key_path, doc)
    with pytest.raises(ConfigError, match="malformed") as err:
        LocalFileKeyProvider.open(key_path)
    message = str(err.value)
    assert "VAULT_HOME" in message
    for secret in secrets_before:
        assert secret not in message
        assert secret[:12] not in message
    assert err.value.__cause__ is None


def test_reopened_provider_unwraps_and_has_same_subkeys(
    key_path: Path, provider: LocalFileKeyProvider
) -> None:
    wrapped = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    again = LocalFileKeyProvider.open(key_path)
    assert again.unwrap(wrapped, purpose="case-dek", context_id="case-1") == KEY
    for purpose in SubkeyPurpose:
        assert again.subkey(purpose).reveal() == provider.subkey(purpose).reveal()


def test_local_provider_satisfies_the_protocol(provider: LocalFileKeyProvider) -> None:
    assert isinstance(provider, KeyProvider)


# -- wrapping -----------------------------------------------------------------------------------------


def test_d18_wrap_round_trip_and_fresh_nonce(provider: LocalFileKeyProvider) -> None:
    a = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    b = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    assert a.blob != b.blob
    assert KEY not in a.blob
    assert a.version == 1
    assert len(a.blob) == 1 + 12 + 32 + 16
    assert provider.unwrap(a, purpose="case-dek", context_id="case-1") == KEY


@pytest.mark.parametrize(
    ("purpose", "context_id"), [("case-dek", "case-2"), ("totp", "case-1"), ("case-de", "kcase-1")]
)
def test_d18_unwrap_with_other_purpose_or_context_fails(
    provider: LocalFileKeyProvider, purpose: str, context_id: str
) -> None:
    wrapped = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    with pytest.raises(Integrity):
        provider.unwrap(wrapped, purpose=purpose, context_id=context_id)


def test_d18_every_byte_of_a_wrapped_key_is_authenticated(provider: LocalFileKeyProvider) -> None:
    wrapped = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    for i in range(len(wrapped.blob)):
        blob = bytearray(wrapped.blob)
        blob[i] ^= 0x01
        with pytest.raises(Integrity):
            provider.unwrap(WrappedKey(1, bytes(blob)), purpose="case-dek", context_id="case-1")
    for cut in (0, 1, 12, 28, len(wrapped.blob) - 1):
        with pytest.raises(Integrity):
            provider.unwrap(WrappedKey(1, wrapped.blob[:cut]), purpose="case-dek", context_id="case-1")


def test_d18_wrapped_key_is_bound_to_its_kek_version(provider: LocalFileKeyProvider) -> None:
    old = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    provider.rotate()
    with pytest.raises(Integrity):
        provider.unwrap(WrappedKey(2, old.blob), purpose="case-dek", context_id="case-1")
    with pytest.raises(Integrity):
        provider.unwrap(WrappedKey(99, old.blob), purpose="case-dek", context_id="case-1")


def test_wrapped_key_from_another_key_file_fails(tmp_path: Path, provider: LocalFileKeyProvider) -> None:
    other = LocalFileKeyProvider.create(tmp_path / "other.json")
    wrapped = other.wrap(KEY, purpose="case-dek", context_id="case-1")
    with pytest.raises(Integrity):
        provider.unwrap(wrapped, purpose="case-dek", context_id="case-1")


# -- rotation -----------------------------------------------------------------------------------------


def test_rotation_adds_a_current_version_and_keeps_old_ones_usable(
    key_path: Path, provider: LocalFileKeyProvider
) -> None:
    old = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    subkeys_before = {p: provider.subkey(p).reveal() for p in SubkeyPurpose}
    assert provider.rotate() == 2
    assert provider.current_version() == 2
    assert provider.versions() == [1, 2]
    assert provider.wrap(KEY, purpose="case-dek", context_id="case-1").version == 2
    assert provider.unwrap(old, purpose="case-dek", context_id="case-1") == KEY
    reopened = LocalFileKeyProvider.open(key_path)
    assert reopened.current_version() == 2
    assert reopened.unwrap(old, purpose="case-dek", context_id="case-1") == KEY
    # Subkeys are independent of the KEK: blind indexes and pseudonyms survive rotation.
    assert {p: reopened.subkey(p).reveal() for p in SubkeyPurpose} == subkeys_before
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["keys.json"]


def test_rotation_that_fails_to_persist_changes_nothing(
    key_path: Path, provider: LocalFileKeyProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = key_path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        provider.rotate()
    monkeypatch.undo()
    assert key_path.read_bytes() == before
    assert provider.current_version() == 1
    assert provider.versions() == [1]
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["keys.json"]


def test_remove_version_refuses_the_current_one(provider: LocalFileKeyProvider) -> None:
    with pytest.raises(Conflict):
        provider.remove_version(1)
    with pytest.raises(NotFound):
        provider.remove_version(5)


def test_d11_removed_kek_version_can_no_longer_unwrap(key_path: Path, provider: LocalFileKeyProvider) -> None:
    old = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    provider.rotate()
    rewrapped = provider.wrap(
        provider.unwrap(old, purpose="case-dek", context_id="case-1"), purpose="case-dek", context_id="case-1"
    )
    provider.remove_version(1)
    assert provider.versions() == [2]
    with pytest.raises(Integrity):
        provider.unwrap(old, purpose="case-dek", context_id="case-1")
    reopened = LocalFileKeyProvider.open(key_path)
    assert reopened.versions() == [2]
    with pytest.raises(Integrity):
        reopened.unwrap(old, purpose="case-dek", context_id="case-1")
    assert reopened.unwrap(rewrapped, purpose="case-dek", context_id="case-1") == KEY


# -- subkeys and secrecy --------------------------------------------------------------------------------


def test_subkeys_are_independent_per_purpose(provider: LocalFileKeyProvider) -> None:
    values = {provider.subkey(p).reveal() for p in SubkeyPurpose}
    assert len(values) == len(SubkeyPurpose)
    assert (
        provider.subkey(SubkeyPurpose.PSEUDONYM).reveal()
        != provider.subkey(SubkeyPurpose.BLIND_INDEX).reveal()
    )
    assert provider.subkey(SubkeyPurpose.TOTP).purpose is SubkeyPurpose.TOTP


def test_subkeys_differ_between_installations(tmp_path: Path, provider: LocalFileKeyProvider) -> None:
    other = LocalFileKeyProvider.create(tmp_path / "other.json")
    assert (
        other.subkey(SubkeyPurpose.BLIND_INDEX).reveal()
        != provider.subkey(SubkeyPurpose.BLIND_INDEX).reveal()
    )


def test_secret_key_prints_as_stars_and_is_immutable() -> None:
    key = SecretKey(KEY, purpose=SubkeyPurpose.BLIND_INDEX)
    for text in (repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr({"k": key})):
        assert KEY.hex() not in text
        assert "***" in text
    with pytest.raises(AttributeError):
        key._material = b"x" * 32
    with pytest.raises(AttributeError):
        key.purpose = None
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert key.reveal() == KEY


@pytest.mark.parametrize("material", [b"", b"x" * 31, b"x" * 33])
def test_secret_key_requires_32_bytes(material: bytes) -> None:
    with pytest.raises(ValueError, match="32"):
        SecretKey(material)


def test_secret_key_has_no_value_equality() -> None:
    # A bytewise __eq__ would be a timing oracle; keys compare by identity only.
    a, b = SecretKey(KEY), SecretKey(KEY)
    assert a != b
    assert a == a


def test_provider_and_wrapped_key_reprs_hold_no_key_material(
    key_path: Path, provider: LocalFileKeyProvider
) -> None:
    wrapped = provider.wrap(KEY, purpose="case-dek", context_id="case-1")
    text = repr(provider) + str(provider) + repr(wrapped)
    for secret in file_secrets(key_path):
        assert secret not in text
    assert wrapped.blob.hex() not in text
    assert KEY.hex() not in text
