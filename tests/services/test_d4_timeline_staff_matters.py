"""D4/D3: the professional who asked the advice reads their advice case's timeline, but not staff's own
business on it: that an own-motion report is being prepared (D4), the journal, what was shared
(the D3 register). Each is refused to them as a page; a line in the timeline would tell it anyway.
Staff see every line."""

from __future__ import annotations

import pytest

from tests.services.test_d4_own_motion_reason_staff_only import REASON, advice_of_a_professional
from tests.web.world import World, _ctx, build_world
from vault.runtime import Vault
from vault.services import journal, own_motion, timeline

STAFF_MATTERS = ("dossier:own-motion:", "dossier:note", "disclosure:")


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def test_d4_the_professionals_timeline_leaves_out_the_own_motion_report_and_the_journal(
    vault: Vault, world: World
) -> None:
    case_id, prof = advice_of_a_professional(vault)
    worker = _ctx(vault, world.worker)
    own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    journal.add_note(vault, worker, case_id, text="Gebeld met de huisarts over de zorgen.")
    journal.read_notes(vault, worker, case_id)

    staff_tags = {line.tag for line in timeline.case_timeline(vault, worker, case_id).lines}
    assert {"dossier:own-motion:requested", "dossier:note:added", "dossier:notes:read"} <= staff_tags

    seen = timeline.case_timeline(vault, _ctx(vault, prof), case_id)
    tags = {line.tag for line in seen.lines}
    assert "dossier:case:created" in tags  # the advice itself is still theirs to follow
    assert not [t for t in tags if t.startswith(STAFF_MATTERS)], tags
