"""D21: the address blind index (postcode + house number) of subjects and staff match without plaintext."""

from __future__ import annotations

import pytest

from vault.crypto.index import address_parts, blind_index_address
from vault.crypto.keys import SecretKey, SubkeyPurpose
from vault.errors import InvalidInput


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("Kerkstraat 12a, 1234 AB Utrecht", ("1234AB", "12A")),
        ("Kerkstraat 12 A 1234ab Utrecht", ("1234AB", "12A")),
        ("Dorpsweg 3-2, 9999 ZZ Ergens", ("9999ZZ", "32")),
        ("Geen postcode 12", None),
        ("1234 AB Utrecht", None),
    ],
)
def test_d21_address_parts_of_a_dutch_address(address: str, parts: tuple[str, str] | None) -> None:
    assert address_parts(address) == parts


def test_d21_address_index_normalises_and_refuses_without_echo() -> None:
    key = SecretKey(b"k" * 32, purpose=SubkeyPurpose.BLIND_INDEX)
    same = blind_index_address(key, "1234 ab", "12 a")
    assert same == blind_index_address(key, "1234AB", "12A")
    assert same != blind_index_address(key, "1234AB", "14")
    assert "1234" not in same
    with pytest.raises(InvalidInput) as refused:
        blind_index_address(key, "0123 AB", "12")
    assert "0123" not in str(refused.value)
