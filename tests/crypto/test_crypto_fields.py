"""D18: personal fields encrypted under the case DEK, bound to table, column and row."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.crypto.envelope import DataKey, new_data_key
from vault.crypto.fields import decrypt_field, decrypt_text, encrypt_field, encrypt_text
from vault.errors import Integrity

DEK = DataKey(bytes(range(32)))
CELL = {"table": "subjects", "column": "name", "row_id": "row-1"}


@settings(max_examples=100, deadline=None)
@given(value=st.binary(max_size=500), row_id=st.text(min_size=1, max_size=40))
def test_d18_field_round_trip(value: bytes, row_id: str) -> None:
    sealed = encrypt_field(DEK, table="subjects", column="bsn", row_id=row_id, value=value)
    assert decrypt_field(DEK, table="subjects", column="bsn", row_id=row_id, value=sealed) == value


@settings(max_examples=100, deadline=None)
@given(value=st.text(max_size=200))
def test_d18_text_round_trip(value: str) -> None:
    assert decrypt_text(DEK, **CELL, value=encrypt_text(DEK, **CELL, value=value)) == value


def test_d18_field_format_and_fresh_nonce() -> None:
    a = encrypt_text(DEK, **CELL, value="Jansen")
    b = encrypt_text(DEK, **CELL, value="Jansen")
    assert a != b
    assert a[0] == 1
    assert len(a) == 1 + 12 + len("Jansen") + 16
    assert b"Jansen" not in a


@pytest.mark.parametrize(
    "other",
    [
        {"table": "subjects", "column": "name", "row_id": "row-2"},
        {"table": "subjects", "column": "address", "row_id": "row-1"},
        {"table": "reporters", "column": "name", "row_id": "row-1"},
        # Length prefixes keep shifted boundaries apart.
        {"table": "subjectsn", "column": "ame", "row_id": "row-1"},
        {"table": "subjects", "column": "namer", "row_id": "ow-1"},
    ],
)
def test_d18_ciphertext_moved_to_another_cell_fails(other: dict[str, str]) -> None:
    sealed = encrypt_text(DEK, **CELL, value="Jansen")
    with pytest.raises(Integrity):
        decrypt_text(DEK, **other, value=sealed)


def test_d18_field_of_another_case_fails() -> None:
    sealed = encrypt_text(new_data_key(), **CELL, value="Jansen")
    with pytest.raises(Integrity):
        decrypt_text(DEK, **CELL, value=sealed)


def test_d18_every_byte_of_a_field_is_authenticated() -> None:
    sealed = encrypt_text(DEK, **CELL, value="Jansen")
    for i in range(len(sealed)):
        damaged = bytearray(sealed)
        damaged[i] ^= 0x04
        with pytest.raises(Integrity):
            decrypt_field(DEK, **CELL, value=bytes(damaged))
    for cut in range(len(sealed)):
        with pytest.raises(Integrity):
            decrypt_field(DEK, **CELL, value=sealed[:cut])


def test_text_field_holding_invalid_utf8_is_an_integrity_error() -> None:
    sealed = encrypt_field(DEK, **CELL, value=b"\xff\xfe")
    with pytest.raises(Integrity):
        decrypt_text(DEK, **CELL, value=sealed)


@pytest.mark.parametrize("missing", ["table", "column", "row_id"])
def test_field_cell_coordinates_are_required(missing: str) -> None:
    cell = {**CELL, missing: ""}
    with pytest.raises(ValueError, match="required"):
        encrypt_text(DEK, **cell, value="x")
