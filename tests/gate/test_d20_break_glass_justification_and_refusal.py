"""D20 through the one gate (review B6, B8).

- B8: a written justification is at least 20 characters *a reader sees*
  (``vault.policy.non_blank_chars``): "Spoed" padded with variation selectors, the combining grapheme
  joiner or loose combining marks shows as five letters and is no justification, for the gate as for
  the web form and the log review (``justification_chars``, one count).
- B6: a break-the-glass view that asks for the reporter's identity (D8: never under break-the-glass) is
  refused before any part of the case is read: no allowed emergency read, no emergency access for the
  privacy officer, only the audited refusal.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import api_user
from tests.web.world import build_world
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import Role
from vault.errors import Forbidden
from vault.models import AuditEntry, BreakGlassAccess
from vault.policy import BREAK_GLASS_MIN_CHARS, non_blank_chars
from vault.runtime import Vault
from vault.services.case_view import view_case

WHY = "Politie belt: acute zorgen over de kinderen in dit gezin, team niet bereikbaar"
PADDED = {
    "variation-selector-16": "Spoed" + "\ufe0f" * 15,
    "combining-grapheme-joiner": "Spoed" + "\u034f" * 15,
    "variation-selector-supplement": "Spoed" + "\U000e0100" * 15,
    "mongolian-free-variation-selectors": "Spoed" + "\u180b\u180c\u180d\u180f" * 4,
    "combining-accents": "Spoed" + "\u0301" * 15,
    "enclosing-circles": "Spoed" + "\u20dd" * 15,
}


@pytest.mark.parametrize("name", sorted(PADDED))
def test_d20_a_justification_padded_with_invisible_marks_counts_only_what_a_reader_sees(name: str) -> None:
    assert non_blank_chars(PADDED[name]) == len("Spoed") < BREAK_GLASS_MIN_CHARS
    # letters with their accents count once; ordinary text is counted as before
    assert non_blank_chars("cafe\u0301 caf\u00e9") == 8
    assert non_blank_chars(WHY) == len(WHY.replace(" ", ""))


@pytest.mark.parametrize("name", sorted(PADDED))
def test_d20_the_gate_refuses_a_five_letter_justification_padded_with_invisible_marks(
    vault: Vault, name: str
) -> None:
    world = build_world(vault)
    ctx = Context(
        actor_id=world.outsider.user_id,
        role=str(Role.MEDEWERKER),
        access_point="test",
        session_id="s-1",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )
    with pytest.raises(Forbidden):
        view_case(vault, ctx, world.case_id, break_glass_justification=PADDED[name])
    with vault.db.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.break_glass)) == 0


def test_d20_d8_a_break_the_glass_view_asking_the_reporter_is_refused_before_anything_is_read(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    client = TestClient(create_app(vault), base_url="https://testserver")
    colleague = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Zuid")
    r = client.post(
        f"/api/v1/cases/{world.case_id}/view",
        headers=colleague.headers,
        json={"break_glass_justification": WHY, "include_reporter_identity": True},
    )
    assert r.status_code == 403
    assert "Kanarie" not in r.text
    with vault.db.session() as session:
        entries = session.execute(
            select(AuditEntry.tag, AuditEntry.decision, AuditEntry.break_glass).where(
                AuditEntry.actor_id == colleague.user_id, AuditEntry.case_id == world.case_id
            )
        ).all()
        accesses = session.scalar(select(func.count()).select_from(BreakGlassAccess))
    # only the refusal of the reporter's identity: no case, subjects or titles read, nothing to review
    assert [decision for _, decision, _ in entries] == ["deny"]
    assert not any(flag for _, _, flag in entries)
    assert accesses == 0
    # the same view without the reporter is the emergency read D20 allows
    allowed = client.post(
        f"/api/v1/cases/{world.case_id}/view",
        headers=colleague.headers,
        json={"break_glass_justification": WHY},
    )
    assert allowed.status_code == 200
    assert "Kanarie Melder" not in allowed.text
