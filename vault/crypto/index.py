"""Finding people without decrypting: keyed blind indexes (D19) and client pseudonyms (D3).

Both are HMAC-SHA256 over normalised identifiers, domain-separated by kind, under independent subkeys
(`SubkeyPurpose.BLIND_INDEX`, `SubkeyPurpose.PSEUDONYM`). Message: ``lp(label) ‖ lp(part) ‖ ...`` with
``lp(x) = u32be(len(x)) ‖ x``; labels below. Normalisation rules are in docs/format.md. Errors from the
normalisers never echo the value (it is personal data).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from datetime import date, datetime

from vault.crypto.keys import SecretKey, SubkeyPurpose, length_prefixed
from vault.errors import InvalidInput

__all__ = [
    "address_parts",
    "blind_index_address",
    "blind_index_bsn",
    "blind_index_person",
    "normalise_bsn",
    "normalise_date",
    "normalise_house_number",
    "normalise_name",
    "normalise_postcode",
    "pseudonym_for_client",
]

_BSN_SEPARATORS = re.compile(r"[.\-\s]+")
_BSN_DIGITS = re.compile(r"[0-9]{9}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Apostrophe-like characters are removed (O'Neill == ONeill); they are removed both before and after
# NFKD because some (the acute accent U+00B4) decompose into a space plus a combining mark.
_APOSTROPHES = frozenset("'`\u00b4\u02b9\u02bb\u02bc\u02bd\u2018\u2019\u201b\u2032\uff07")
_MAX_NAME_LENGTH = 512

_LABEL_INDEX_BSN = b"vault/blind-index/v1/bsn"
_LABEL_INDEX_PERSON = b"vault/blind-index/v1/person"
_LABEL_INDEX_ADDRESS = b"vault/blind-index/v1/address"
_POSTCODE = re.compile(r"\b([1-9][0-9]{3})\s?([A-Za-z]{2})\b")
_HOUSE_NUMBER = re.compile(r"\b([0-9]{1,5})(?:\s?-?\s?([A-Za-z]{1,2}\b|[0-9]{1,4}\b))?")
_LABEL_PSEUDONYM_BSN = b"vault/pseudonym/v1/bsn"
_LABEL_PSEUDONYM_PERSON = b"vault/pseudonym/v1/person"
PSEUDONYM_PREFIX = "ps_"


def normalise_bsn(value: str) -> str:
    """Strip dots, dashes and whitespace; require exactly 9 ASCII digits passing the eleven-test."""
    if not isinstance(value, str):
        raise InvalidInput("BSN must be given as text")
    digits = _BSN_SEPARATORS.sub("", value)
    if not _BSN_DIGITS.fullmatch(digits):
        raise InvalidInput("BSN must consist of exactly 9 digits")
    weighted = sum(w * int(d) for w, d in zip(range(9, 1, -1), digits[:8], strict=True)) - int(digits[8])
    if weighted % 11 != 0 or digits == "000000000":
        raise InvalidInput("BSN fails the eleven-test")
    return digits


def _drop_apostrophes(text: str) -> str:
    return "".join(ch for ch in text if ch not in _APOSTROPHES)


def _normalise_name_once(value: str) -> str:
    text = unicodedata.normalize("NFKD", _drop_apostrophes(value).casefold())
    out: list[str] = []
    for ch in _drop_apostrophes(text):
        category = unicodedata.category(ch)
        if category[0] == "M":  # combining marks: é -> e, ï -> i
            continue
        out.append(ch if category[0] in "LN" else " ")  # hyphens, dots, commas, spaces -> separator
    return " ".join("".join(out).split())


def normalise_name(value: str) -> str:
    """Canonical form of a person's name for matching (see docs/format.md, "Name normalisation")."""
    if not isinstance(value, str):
        raise InvalidInput("name must be given as text")
    if len(value) > _MAX_NAME_LENGTH:
        raise InvalidInput("name is too long")
    text = _normalise_name_once(value)
    # Casefolding a decomposed letter can expose new foldable characters: repeat to a fixed point.
    for _ in range(3):
        again = _normalise_name_once(text)
        if again == text:
            break
        text = again
    if not text:
        raise InvalidInput("name is empty after normalisation")
    return text


def normalise_date(value: date | str) -> str:
    """ISO 8601 calendar date ``yyyy-mm-dd``; a `date` or a string already in that form."""
    if isinstance(value, datetime):
        raise InvalidInput("date of birth must be a date, not a date and time")
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise InvalidInput("date of birth must be a date or yyyy-mm-dd text")
    text = value.strip()
    if not _ISO_DATE.fullmatch(text):
        raise InvalidInput("date of birth must be written as yyyy-mm-dd")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput("date of birth is not a valid calendar date") from None


def _mac(key: SecretKey, purpose: SubkeyPurpose, label: bytes, *parts: str) -> bytes:
    if not isinstance(key, SecretKey):
        raise TypeError("key must be a SecretKey")
    if key.purpose is not None and key.purpose is not purpose:
        raise ValueError(f"this key was issued for another purpose (expected {purpose.value})")
    message = length_prefixed(label, *(p.encode("utf-8") for p in parts))
    return hmac.new(key.reveal(), message, hashlib.sha256).digest()


def blind_index_bsn(key: SecretKey, bsn: str) -> str:
    """D19: lowercase hex HMAC of the normalised BSN under the blind-index key."""
    return _mac(key, SubkeyPurpose.BLIND_INDEX, _LABEL_INDEX_BSN, normalise_bsn(bsn)).hex()


def blind_index_person(key: SecretKey, name: str, date_of_birth: date | str) -> str:
    """D19: lowercase hex HMAC of normalised name + date of birth under the blind-index key."""
    return _mac(
        key,
        SubkeyPurpose.BLIND_INDEX,
        _LABEL_INDEX_PERSON,
        normalise_name(name),
        normalise_date(date_of_birth),
    ).hex()


def pseudonym_for_client(
    key: SecretKey, *, bsn: str | None, name: str | None, date_of_birth: date | str | None
) -> str:
    """D3: a stable pseudonym ``ps_`` + 32 base32 characters (160 bits) for an advice client.

    Uses the BSN when given (``None`` means absent), otherwise name + date of birth. The same person
    recorded once with and once without a BSN gets two pseudonyms; the service links them if needed.
    """
    if bsn is not None:
        mac = _mac(key, SubkeyPurpose.PSEUDONYM, _LABEL_PSEUDONYM_BSN, normalise_bsn(bsn))
    elif name is not None and date_of_birth is not None:
        mac = _mac(
            key,
            SubkeyPurpose.PSEUDONYM,
            _LABEL_PSEUDONYM_PERSON,
            normalise_name(name),
            normalise_date(date_of_birth),
        )
    else:
        raise InvalidInput("a pseudonym needs a BSN, or a name and a date of birth")
    return PSEUDONYM_PREFIX + base64.b32encode(mac[:20]).decode("ascii").lower()


def normalise_postcode(value: str) -> str:
    """A Dutch postcode as ``1234AB`` (four digits, not starting with 0, two letters)."""
    match = _POSTCODE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput("postcode must be four digits and two letters")
    return (match.group(1) + match.group(2)).upper()


def normalise_house_number(value: str) -> str:
    """House number with its addition, upper-case, no separators: ``12 a`` / ``12-A`` -> ``12A``."""
    text = "".join(value.split()).replace("-", "").upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[0-9]{1,5}[A-Z0-9]{0,4}", text):
        raise InvalidInput("house number must start with digits")
    return text


def address_parts(address: str) -> tuple[str, str] | None:
    """``(postcode, house number)`` found in a free-text Dutch address, or ``None``.

    The house number is the first number before the postcode ("Straat 12a, 1234 AB Plaats").
    """
    postcode = _POSTCODE.search(address)
    if postcode is None:
        return None
    number = _HOUSE_NUMBER.search(address[: postcode.start()])
    if number is None:
        return None
    return normalise_postcode(postcode.group(0)), normalise_house_number(number.group(0))


def blind_index_address(key: SecretKey, postcode: str, house_number: str) -> str:
    """D21: lowercase hex HMAC of normalised postcode + house number under the blind-index key."""
    return _mac(
        key,
        SubkeyPurpose.BLIND_INDEX,
        _LABEL_INDEX_ADDRESS,
        normalise_postcode(postcode),
        normalise_house_number(house_number),
    ).hex()
