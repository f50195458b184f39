"""Per-case data keys: D18 (keys never beside the data in clear) and D11/D12 (crypto-shredding)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vault.crypto.envelope import DataKey, new_data_key, unwrap_data_key, wrap_data_key
from vault.crypto.filekeys import FileKeyProvider
from vault.crypto.keys import Keys, SecretKey
from vault.crypto.stream import decrypt_stream, encrypt_stream
from vault.errors import Integrity


@pytest.fixture
def provider(tmp_path: Path) -> Keys:
    return Keys(FileKeyProvider.create(tmp_path / "keys.json", SecretKey(os.urandom(32))))


def test_d18_new_data_keys_are_random_and_print_as_stars() -> None:
    a, b = new_data_key(), new_data_key()
    assert a.reveal() != b.reveal()
    assert len(a.reveal()) == 32
    assert repr(a) == str(a) == "***"
    assert a.reveal().hex() not in f"{a} {a!r} {[a]}"


def test_d18_wrapped_dek_round_trip(provider: Keys) -> None:
    dek = new_data_key()
    wrapped = wrap_data_key(provider, dek, case_id="case-A")
    assert dek.reveal() not in wrapped.blob
    assert unwrap_data_key(provider, wrapped, case_id="case-A").reveal() == dek.reveal()


def test_d18_dek_wrapped_for_case_a_does_not_unwrap_as_case_b(provider: Keys) -> None:
    wrapped = wrap_data_key(provider, new_data_key(), case_id="case-A")
    with pytest.raises(Integrity):
        unwrap_data_key(provider, wrapped, case_id="case-B")


def test_d18_key_wrapped_for_another_purpose_is_not_a_dek(provider: Keys) -> None:
    wrapped = provider.wrap(new_data_key().reveal(), purpose="totp", context_id="case-A")
    with pytest.raises(Integrity):
        unwrap_data_key(provider, wrapped, case_id="case-A")


def test_rotation_rewraps_dek_without_touching_documents(provider: Keys) -> None:
    dek = new_data_key()
    wrapped_v1 = wrap_data_key(provider, dek, case_id="case-A")
    document = b"".join(encrypt_stream(dek, "doc-1", [b"verslag " * 1000]))
    provider.rotate()
    wrapped_v2 = wrap_data_key(
        provider, unwrap_data_key(provider, wrapped_v1, case_id="case-A"), case_id="case-A"
    )
    provider.remove_version(1)
    assert wrapped_v2.version == 2
    dek_again = unwrap_data_key(provider, wrapped_v2, case_id="case-A")
    assert b"".join(decrypt_stream(dek_again, "doc-1", [document])) == b"verslag " * 1000


def test_d11_d12_document_is_unreadable_without_its_case_dek(provider: Keys) -> None:
    # Crypto-shredding: once the wrapped DEK is erased, no other key (other cases, the KEK) opens the data.
    dek = new_data_key()
    document = b"".join(encrypt_stream(dek, "doc-1", [b"vertrouwelijk"]))
    other_cases = [new_data_key() for _ in range(5)]
    kek_as_dek = DataKey(provider.provider._keks[1])  # type: ignore[attr-defined]
    for key in [*other_cases, kek_as_dek]:
        with pytest.raises(Integrity):
            b"".join(decrypt_stream(key, "doc-1", [document]))


def test_unwrap_rejects_wrapped_value_of_wrong_length(provider: Keys) -> None:
    wrapped = provider.wrap(b"sixteen byte key", purpose="case-dek", context_id="case-A")
    with pytest.raises(Integrity):
        unwrap_data_key(provider, wrapped, case_id="case-A")
