"""The file key provider and the keyring: key file and root key file, wrapping, versions, subkeys (D18)."""

from __future__ import annotations

import base64
import json
import os
import pickle
import stat
from pathlib import Path

import pytest

from vault.crypto.filekeys import FileKeyProvider, read_root_key, write_root_key
from vault.crypto.keys import (
    SUBKEY_PURPOSE,
    KekProvider,
    KeyProvider,
    Keys,
    SecretKey,
    SubkeyPurpose,
    WrappedKey,
)
from vault.errors import ConfigError, Conflict, Integrity, NotFound, Unavailable

KEY = bytes(range(32))


@pytest.fixture
def root() -> SecretKey:
    return SecretKey(os.urandom(32))


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys.json"


@pytest.fixture
def provider(key_path: Path, root: SecretKey) -> FileKeyProvider:
    return FileKeyProvider.create(key_path, root)


def test_create_writes_a_0600_file_of_sealed_keks_only(key_path: Path, provider: FileKeyProvider) -> None:
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["keys.json"]
    doc = json.loads(key_path.read_text())
    assert doc["format"] == "vault-keys/2"
    assert set(doc) == {"format", "root_check", "keks"}
    assert provider._keks[1] not in key_path.read_bytes()
    assert base64.b64decode(doc["keks"]["1"]) != provider._keks[1]
    assert provider.versions() == [1]


def test_create_refuses_to_overwrite(key_path: Path, provider: FileKeyProvider, root: SecretKey) -> None:
    before = key_path.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        FileKeyProvider.create(key_path, root)
    assert key_path.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_open_refuses_loose_permissions(
    key_path: Path, provider: FileKeyProvider, root: SecretKey, mode: int
) -> None:
    key_path.chmod(mode)
    with pytest.raises(ConfigError, match="loose permissions"):
        FileKeyProvider.open(key_path, root)


def test_open_refuses_a_symlink(
    tmp_path: Path, key_path: Path, provider: FileKeyProvider, root: SecretKey
) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(key_path)
    with pytest.raises(ConfigError, match="symlink"):
        FileKeyProvider.open(link, root)


def test_open_with_another_root_key_is_refused(key_path: Path, provider: FileKeyProvider) -> None:
    with pytest.raises(ConfigError, match=r"^VAULT_KEY_PROVIDER: file: the root key"):
        FileKeyProvider.open(key_path, SecretKey(os.urandom(32)))


@pytest.mark.parametrize(
    "damage", ["not json", "wrong format", "bad base64", "sealed for another version", "cut"]
)
def test_malformed_key_file_is_a_config_error_without_key_material(
    key_path: Path, provider: FileKeyProvider, root: SecretKey, damage: str
) -> None:
    doc = json.loads(key_path.read_text())
    if damage == "not json":
        text = key_path.read_text()[:-20]
    else:
        if damage == "wrong format":
            doc["format"] = "vault-keys/1"
        elif damage == "bad base64":
            doc["keks"]["1"] = "!!" + doc["keks"]["1"]
        elif damage == "sealed for another version":
            doc["keks"]["2"] = doc["keks"].pop("1")
        elif damage == "cut":
            doc["keks"]["1"] = doc["keks"]["1"][:20]
        text = json.dumps(doc)
    key_path.write_text(text)
    key_path.chmod(0o600)
    expected = "malformed"
    if damage == "wrong format":
        expected = "has format vault-keys/1; this vault reads vault-keys/2"
    with pytest.raises(ConfigError, match=expected) as err:
        FileKeyProvider.open(key_path, root)
    assert err.value.__cause__ is None
    assert base64.b64encode(provider._keks[1]).decode()[:12] not in str(err.value)


def test_a_key_file_format_that_is_not_ours_is_not_echoed(
    key_path: Path, provider: FileKeyProvider, root: SecretKey
) -> None:
    doc = json.loads(key_path.read_text())
    doc["format"] = "vault-keys/1 Jansen"
    key_path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="malformed") as err:
        FileKeyProvider.open(key_path, root)
    assert "Jansen" not in str(err.value)


def test_root_key_file_round_trip_and_refusals(tmp_path: Path, root: SecretKey) -> None:
    path = tmp_path / "root.key"
    write_root_key(path, root)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_root_key(path).reveal() == root.reveal()
    with pytest.raises(ConfigError, match="already exists"):
        write_root_key(path, root)
    path.write_text("vault-root/1 c2hvcnQ=\n")
    with pytest.raises(ConfigError, match="malformed"):
        read_root_key(path)


def test_versions_persist_and_destroyed_versions_are_gone(
    key_path: Path, provider: FileKeyProvider, root: SecretKey
) -> None:
    old = provider.wrap(KEY, purpose="case-dek", context_id="case-1", version=1)
    provider.create_version(2)
    with pytest.raises(Conflict):
        provider.create_version(2)
    reopened = FileKeyProvider.open(key_path, root)
    assert reopened.versions() == [1, 2]
    assert reopened.unwrap(old, purpose="case-dek", context_id="case-1") == KEY
    provider.destroy_version(1)
    with pytest.raises(NotFound):
        provider.destroy_version(1)
    for p in (provider, FileKeyProvider.open(key_path, root)):
        assert p.versions() == [2]
        with pytest.raises(Integrity):
            p.unwrap(old, purpose="case-dek", context_id="case-1")


def test_a_version_change_that_fails_to_persist_changes_nothing(
    key_path: Path, provider: FileKeyProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = key_path.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        provider.create_version(2)
    monkeypatch.undo()
    assert key_path.read_bytes() == before
    assert provider.versions() == [1]
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["keys.json"]


# -- the keyring --------------------------------------------------------------------------------------


def test_keys_satisfy_the_protocols(provider: FileKeyProvider) -> None:
    assert isinstance(provider, KekProvider)
    assert isinstance(Keys(provider), KeyProvider)


def test_d18_wrap_round_trip_fresh_nonce_and_every_byte_authenticated(provider: FileKeyProvider) -> None:
    keys = Keys(provider)
    a = keys.wrap(KEY, purpose="case-dek", context_id="case-1")
    b = keys.wrap(KEY, purpose="case-dek", context_id="case-1")
    assert a.blob != b.blob
    assert len(a.blob) == 1 + 12 + 32 + 16
    assert keys.unwrap(a, purpose="case-dek", context_id="case-1") == KEY
    for i in range(len(a.blob)):
        blob = bytearray(a.blob)
        blob[i] ^= 0x01
        with pytest.raises(Integrity):
            keys.unwrap(WrappedKey(1, bytes(blob)), purpose="case-dek", context_id="case-1")


def test_rotation_and_removal_through_the_keyring(provider: FileKeyProvider) -> None:
    keys = Keys(provider)
    assert keys.rotate() == 2
    assert keys.current_version() == 2
    with pytest.raises(Conflict):
        keys.remove_version(2)
    with pytest.raises(NotFound):
        keys.remove_version(9)
    keys.remove_version(1)
    assert keys.versions() == [2]


def test_subkeys_are_wrapped_independent_and_unavailable_until_installed(provider: FileKeyProvider) -> None:
    keys = Keys(provider)
    with pytest.raises(Unavailable):
        keys.subkey(SubkeyPurpose.TOTP)
    wrapped = keys.new_subkeys(list(SubkeyPurpose))
    for purpose, item in wrapped.items():
        raw = keys.unwrap(item, purpose=SUBKEY_PURPOSE, context_id=purpose)
        assert raw not in item.blob
    keys.install_subkeys(wrapped)
    values = {keys.subkey(p).reveal() for p in SubkeyPurpose}
    assert len(values) == len(SubkeyPurpose)
    assert keys.subkey(SubkeyPurpose.TOTP).purpose is SubkeyPurpose.TOTP
    # A subkey wrapped for another purpose does not install.
    swapped = {**wrapped, "totp": wrapped["session"]}
    with pytest.raises(ConfigError, match="do not open"):
        Keys(provider).install_subkeys(swapped)


def test_secrets_never_print_and_cannot_be_pickled(provider: FileKeyProvider) -> None:
    key = SecretKey(KEY, purpose=SubkeyPurpose.PSEUDONYM)
    assert repr(key) == str(key) == f"{key}" == "***"
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert "keks=***" in repr(provider)
    assert "subkeys=***" in repr(Keys(provider))
