"""D20, D21: the break-the-glass score cannot be escaped by trivial changes to the written reason.

"Short" compares the policy's own count of non-blank characters, recorded when the text is sealed
(padding with spaces or writing in multi-byte letters changes nothing); "repeated" compares a keyed
hash of the normalised text (case, spacing, compatibility forms and invisible characters do not make
it new). Real gate reads, real audit entries, the real review; nothing decrypted by the review.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.logcontrole.conftest import DAY, World, of
from vault.errors import Forbidden
from vault.models import AuditEntry, BreakGlassAccess
from vault.services.case_view import view_case

NOON = DAY + timedelta(hours=10)  # 11:00 in Amsterdam
REASON = "Politie belt, acute onveilige situatie, collega niet bereikbaar vannacht"


def _reason_of(world: World, case_id: str) -> str:
    found = {f.case_id: f for f in of(world.review(), "break_glass")}
    return found[case_id].reason


def _accesses(world: World) -> list[BreakGlassAccess]:
    with world.vault.db.session() as session:
        rows = list(session.scalars(select(BreakGlassAccess).order_by(BreakGlassAccess.seq)))
        session.expunge_all()
    return rows


@pytest.mark.parametrize(
    "text",
    [
        "spoedgeval" + " " * 40 + "zie dossier",  # 21 non-blank characters, 61 with the blanks
        "é" * 21,  # 42 bytes in UTF-8
        "ｓｐｏｅｄｇｅｖａｌ\u00a0ｚｉｅ\u3000ｄｏｓｓｉｅｒ",  # full-width letters: three bytes each
    ],
    ids=["inner-spaces", "two-byte-letters", "full-width"],
)
def test_d20_d21_a_padded_or_multibyte_short_justification_is_short(world: World, text: str) -> None:
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification=text)
    assert "short" in _reason_of(world, world.case)


def test_d20_d21_forty_non_blank_characters_are_not_short(world: World) -> None:
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification="x" * 40)
    assert "short" not in _reason_of(world, world.case)


def test_d20_d21_the_policys_count_is_recorded_when_the_gate_admits(world: World) -> None:
    """The gate admits 20 non-blank characters however padded, refuses 19: the recorded count is the
    one it admitted by, and the review calls that short."""
    padded = "a b c d e f g h i j k l m n o p q r s t"  # 20 non-blank, 39 in all
    with pytest.raises(Forbidden):
        view_case(world.vault, world.ctx(world.b1, NOON), world.case, break_glass_justification=padded[:-2])
    view_case(world.vault, world.ctx(world.b1, NOON), world.case, break_glass_justification=padded)
    [access] = _accesses(world)
    assert access.justification_chars == 20
    assert "short" in _reason_of(world, world.case)


@pytest.mark.parametrize(
    "variant",
    [
        REASON.upper(),
        REASON.replace(" ", "  "),
        REASON.replace(" ", "\u00a0"),  # non-breaking spaces
        "\t" + REASON.replace(", ", ",\n") + "  ",
        REASON.replace("acute", "ac\u200bute"),  # a zero-width space
        REASON.replace("Politie", "ＰＯＬＩＴＩＥ"),  # full-width letters
    ],
    ids=["upper-case", "double-spaces", "nbsp", "tabs-and-newlines", "zero-width", "full-width"],
)
def test_d20_d21_a_reused_justification_with_other_case_or_spacing_is_repeated(
    world: World, variant: str
) -> None:
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification=REASON)
    world.log(world.b1, NOON, case_id=world.other_case, break_glass=True, justification=variant)
    assert "repeated" in _reason_of(world, world.other_case)


def test_d20_d21_another_justification_is_not_repeated(world: World) -> None:
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification=REASON)
    other = "Ziekenhuis meldt letsel, team Noord is niet bereikbaar, overleg nodig"
    world.log(world.b1, NOON, case_id=world.other_case, break_glass=True, justification=other)
    assert "repeated" not in _reason_of(world, world.other_case)


def test_d20_the_digest_is_keyed_and_the_text_stays_out_of_the_log(world: World) -> None:
    from vault.audit.break_glass import justification_digest, normalised_justification  # (new names)

    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification=REASON)
    [access] = _accesses(world)
    normalised = normalised_justification(REASON)
    assert normalised == REASON.casefold()
    assert access.justification_digest == justification_digest(world.vault, REASON.upper())
    for plain in (REASON, normalised):
        assert access.justification_digest != hashlib.sha256(plain.encode()).hexdigest()
    with world.vault.db.session() as session:
        rows = session.execute(select(AuditEntry.__table__)).all()
    log = json.dumps([[str(v) for v in row] for row in rows]).casefold()
    assert "politie" not in log
    assert "vannacht" not in log


def test_d21_an_access_recorded_before_the_count_was_kept_falls_back_to_its_sealed_length(
    world: World,
) -> None:
    world.log(world.b1, NOON, case_id=world.case, break_glass=True, justification="kort maar krachtig")
    world.log(world.b1, NOON, case_id=world.other_case, break_glass=True, justification="x" * 60)
    with world.vault.db.session() as session:
        session.execute(update(BreakGlassAccess).values(justification_chars=None))  # as before 0026
    found = {f.case_id: f.reason for f in of(world.review(), "break_glass")}
    assert "short" in found[world.case]
    assert "short" not in found[world.other_case]
