"""Session 16 review (D4): an own-motion request needs a reason a reader can see.

O6: ``request_own_motion`` counted the reason's length after folding white space only, so ten
zero-width spaces (or other characters that show as nothing) passed as a "recorded reason". The
request was stored and put on the other disciplines' work list "Wacht op uw goedkeuring"; only the
conversion, after two approvals, was refused by the policy (``d4-reason-required``). Bad input must be
refused when it is given, with its reason, and leave nothing behind.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.cases.conftest import Staff
from tests.helpers import make_user
from vault.domain import Role
from vault.errors import InvalidInput
from vault.models import OwnMotionConversion
from vault.runtime import Vault
from vault.services import own_motion
from vault.services.cases import open_professional_advice


def _advice(vault: Vault, staff: Staff) -> str:
    professional = make_user(vault, Role.PROFESSIONAL)
    with vault.db.session() as session:
        return open_professional_advice(
            session,
            vault,
            staff.ctx(vault, staff.worker),
            professional_id=professional,
            meldcode_step=2,
            team_id=staff.team,
        ).id


@pytest.mark.parametrize(
    "reason",
    [
        "\u200b" * 12,
        "\u2060" * 12,
        "a" + "\u0301" * 11 + "\u200b" * 3,
        "ab\u200b\u200c\u200d\ufe0f\u034f\u180b" * 2,
    ],
)
def test_d4_o6_a_reason_of_invisible_characters_is_refused_when_requested(
    vault: Vault, staff: Staff, reason: str
) -> None:
    case_id = _advice(vault, staff)
    with pytest.raises(InvalidInput):
        own_motion.request_own_motion(vault, staff.ctx(vault, staff.worker), case_id, reason=reason)
    with vault.db.session() as session:
        stored = session.scalar(select(func.count()).select_from(OwnMotionConversion))
    assert stored == 0, "a conversion without a visible reason was stored and waits for approvals"


def test_d4_o6_a_visible_reason_of_ten_characters_is_still_accepted(vault: Vault, staff: Staff) -> None:
    case_id = _advice(vault, staff)
    assert own_motion.request_own_motion(
        vault, staff.ctx(vault, staff.worker), case_id, reason="Acuut risico"
    )
