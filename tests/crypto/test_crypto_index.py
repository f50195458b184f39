"""D19 blind index and D3 pseudonyms: normalisation and keyed hashing."""

from __future__ import annotations

import hashlib
import hmac
import struct
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.crypto.index import (
    blind_index_bsn,
    blind_index_person,
    normalise_bsn,
    normalise_date,
    normalise_name,
    pseudonym_for_client,
)
from vault.crypto.keys import SecretKey, SubkeyPurpose
from vault.errors import InvalidInput

INDEX_KEY = SecretKey(b"i" * 32, purpose=SubkeyPurpose.BLIND_INDEX)
PSEUDONYM_KEY = SecretKey(b"p" * 32, purpose=SubkeyPurpose.PSEUDONYM)
BSN = "111222333"  # passes the eleven-test
OTHER_BSN = "123456782"


# -- BSN ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written", ["111222333", "111.222.333", "111 222 333", "111-22-2333", " 1112.22333 "]
)
def test_bsn_separators_are_stripped(written: str) -> None:
    assert normalise_bsn(written) == BSN


@pytest.mark.parametrize("valid", ["111222333", "123456782", "999999990"])
def test_bsn_passing_the_eleven_test_is_accepted(valid: str) -> None:
    assert normalise_bsn(valid) == valid


@pytest.mark.parametrize(
    "invalid",
    [
        "111222334",
        "12345678",
        "1234567820",
        "000000000",
        "11122233a",
        "１１１２２２３３３",
        "",
        "111/222/333",
    ],
)
def test_bsn_invalid_is_rejected_without_echoing_it(invalid: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_bsn(invalid)
    if invalid.strip():
        assert invalid not in str(err.value)
    assert "111" not in str(err.value)


def test_bsn_eleven_test_weights() -> None:
    # 9*1+8*2+7*3+6*4+5*5+4*6+3*7+2*8 - 1*d9 = 156 - d9; 156 mod 11 = 2, so d9 = 2.
    assert normalise_bsn("123456782") == "123456782"
    for last in "013456789":
        with pytest.raises(InvalidInput):
            normalise_bsn("12345678" + last)


def test_bsn_must_be_text() -> None:
    with pytest.raises(InvalidInput):
        normalise_bsn(111222333)  # type: ignore[arg-type]


# -- names and dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Jan de Vries", "jan de vries"),
        ("  JAN   de\tVRIES ", "jan de vries"),
        ("Zoë Müller", "zoe muller"),
        ("Ĳsbrand", "ijsbrand"),
        ("Strauß", "strauss"),
        ("Jansen-de Vries", "jansen de vries"),
        ("Jansen–de Vries", "jansen de vries"),
        ("O'Neill", "oneill"),
        ("O’Neill", "oneill"),
        ("D´Ancona", "dancona"),
        ("'t Hart", "t hart"),
        ("J.M. de Boer", "j m de boer"),
        ("Ｊａｎ", "jan"),
    ],
)
def test_name_normalisation_rules(written: str, canonical: str) -> None:
    assert normalise_name(written) == canonical


@settings(max_examples=500)
@given(st.text(min_size=1, max_size=60))
def test_name_normalisation_is_idempotent(value: str) -> None:
    try:
        once = normalise_name(value)
    except InvalidInput:
        return
    assert normalise_name(once) == once
    assert once == once.strip()
    assert "  " not in once


@pytest.mark.parametrize("empty", ["", "   ", "-'.", "\u0301"])
def test_name_empty_after_normalisation_is_rejected(empty: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_name(empty)


def test_name_too_long_is_rejected_without_echo() -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_name("Jansen" * 100)
    assert "jansen" not in str(err.value).lower()


@pytest.mark.parametrize(
    ("value", "iso"),
    [(date(2015, 3, 7), "2015-03-07"), ("2015-03-07", "2015-03-07"), (" 2015-03-07 ", "2015-03-07")],
)
def test_date_normalisation(value: date | str, iso: str) -> None:
    assert normalise_date(value) == iso


@pytest.mark.parametrize(
    "bad", ["07-03-2015", "20150307", "2015-02-30", "2015-3-7", "gisteren", datetime(2015, 3, 7), 2015]
)
def test_date_invalid_is_rejected_without_echo(bad: object) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_date(bad)  # type: ignore[arg-type]
    assert "2015" not in str(err.value)


# -- blind index (D19) --------------------------------------------------------------------------------


def test_d19_same_bsn_written_differently_gives_the_same_index() -> None:
    assert blind_index_bsn(INDEX_KEY, "111.222.333") == blind_index_bsn(INDEX_KEY, " 111222333")


def test_d19_different_bsns_give_different_indexes() -> None:
    assert blind_index_bsn(INDEX_KEY, BSN) != blind_index_bsn(INDEX_KEY, OTHER_BSN)


def test_d19_same_person_with_different_case_accents_and_spaces_matches() -> None:
    a = blind_index_person(INDEX_KEY, "Zoë  Jansen-de Vries", date(2015, 3, 7))
    b = blind_index_person(INDEX_KEY, "ZOE JANSEN DE VRIES", "2015-03-07")
    assert a == b


def test_d19_different_people_differ() -> None:
    base = blind_index_person(INDEX_KEY, "Zoë Jansen", "2015-03-07")
    assert base != blind_index_person(INDEX_KEY, "Zoë Janssen", "2015-03-07")
    assert base != blind_index_person(INDEX_KEY, "Zoë Jansen", "2015-03-08")


def test_d19_index_is_hmac_sha256_with_length_prefixed_kind_and_parts() -> None:
    def lp(x: bytes) -> bytes:
        return struct.pack(">I", len(x)) + x

    message = lp(b"vault/blind-index/v1/bsn") + lp(BSN.encode())
    assert blind_index_bsn(INDEX_KEY, BSN) == hmac.new(b"i" * 32, message, hashlib.sha256).hexdigest()


def test_d19_index_depends_on_the_key() -> None:
    other = SecretKey(b"j" * 32, purpose=SubkeyPurpose.BLIND_INDEX)
    assert blind_index_bsn(INDEX_KEY, BSN) != blind_index_bsn(other, BSN)


def test_d19_kinds_are_domain_separated() -> None:
    # A name that happens to be a BSN-like string does not collide with the BSN index.
    unkeyed = SecretKey(b"u" * 32)
    assert blind_index_bsn(unkeyed, BSN) != pseudonym_for_client(
        unkeyed, bsn=BSN, name=None, date_of_birth=None
    )
    assert blind_index_person(unkeyed, "a", "2015-03-07") != blind_index_bsn(unkeyed, BSN)


def test_d19_key_issued_for_another_purpose_is_refused() -> None:
    with pytest.raises(ValueError, match="purpose"):
        blind_index_bsn(PSEUDONYM_KEY, BSN)
    with pytest.raises(ValueError, match="purpose"):
        pseudonym_for_client(INDEX_KEY, bsn=BSN, name=None, date_of_birth=None)


# -- pseudonyms (D3) ---------------------------------------------------------------------------------


def test_d3_pseudonym_shape_and_stability() -> None:
    ps = pseudonym_for_client(PSEUDONYM_KEY, bsn="111.222.333", name=None, date_of_birth=None)
    assert ps.startswith("ps_")
    assert len(ps) == 3 + 32
    assert ps == pseudonym_for_client(PSEUDONYM_KEY, bsn=BSN, name="ignored", date_of_birth="2015-03-07")


def test_d3_pseudonym_prefers_bsn_and_falls_back_to_name_and_birth_date() -> None:
    by_name = pseudonym_for_client(PSEUDONYM_KEY, bsn=None, name="Zoë Jansen", date_of_birth="2015-03-07")
    assert by_name == pseudonym_for_client(
        PSEUDONYM_KEY, bsn=None, name="zoe jansen", date_of_birth=date(2015, 3, 7)
    )
    assert by_name != pseudonym_for_client(
        PSEUDONYM_KEY, bsn=BSN, name="Zoë Jansen", date_of_birth="2015-03-07"
    )


def test_d3_pseudonym_needs_bsn_or_name_and_date() -> None:
    with pytest.raises(InvalidInput):
        pseudonym_for_client(PSEUDONYM_KEY, bsn=None, name="Zoë Jansen", date_of_birth=None)
    with pytest.raises(InvalidInput):
        pseudonym_for_client(PSEUDONYM_KEY, bsn=None, name=None, date_of_birth="2015-03-07")
    with pytest.raises(InvalidInput):
        pseudonym_for_client(PSEUDONYM_KEY, bsn="111222334", name="Zoë Jansen", date_of_birth="2015-03-07")


def test_d3_pseudonym_key_and_index_key_give_unrelated_outputs() -> None:
    shared = b"s" * 32
    index = blind_index_bsn(SecretKey(shared), BSN)
    pseudonym = pseudonym_for_client(SecretKey(shared), bsn=BSN, name=None, date_of_birth=None)
    assert pseudonym[3:] not in index
    assert pseudonym_for_client(
        PSEUDONYM_KEY, bsn=BSN, name=None, date_of_birth=None
    ) != pseudonym_for_client(
        SecretKey(b"q" * 32, purpose=SubkeyPurpose.PSEUDONYM), bsn=BSN, name=None, date_of_birth=None
    )


@settings(max_examples=100)
@given(
    name=st.text(min_size=1, max_size=30),
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1)),
)
def test_d19_person_index_is_invariant_under_renormalisation(name: str, day: date) -> None:
    try:
        canonical = normalise_name(name)
    except InvalidInput:
        return
    assert blind_index_person(INDEX_KEY, name, day) == blind_index_person(
        INDEX_KEY, canonical, day.isoformat()
    )
