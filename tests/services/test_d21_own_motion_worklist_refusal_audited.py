"""D16/D21: a refused request for the work list "Wacht op uw goedkeuring" (pending own-motion
conversions, D4) is audited like every other refused work list (``worklists.refuse_listing``: a
``dossier:access:denied`` entry naming the attempted list, rule ``list-staff-only`` or
``d17-second-factor``), so the daily review sees a partner, privacy officer or administrator probing
staff lists. Ids and rule only."""

from __future__ import annotations

import pytest

from tests.helpers import ctx_for, denials, make_org, make_team, make_user
from vault.domain import AuditTag, OrgType, Role
from vault.errors import Forbidden
from vault.runtime import Vault
from vault.services import own_motion


@pytest.mark.parametrize("role", [Role.PARTNER, Role.PRIVACY_OFFICER, Role.ADMIN, Role.PROFESSIONAL])
def test_d21_a_refused_own_motion_work_list_is_audited(vault: Vault, role: Role) -> None:
    org = make_org(vault, OrgType.LOCAL_TEAM) if role is Role.PARTNER else None
    user_id = make_user(vault, role, org_id=org) if org else make_user(vault, role)
    with pytest.raises(Forbidden) as refused:
        own_motion.awaiting_my_approval(vault, ctx_for(vault, user_id, role, org_id=org))
    assert refused.value.rule == "list-staff-only"
    entries = denials(vault, user_id)
    assert [(e.rule, e.object_type, e.object_id, e.case_id) for e in entries] == [
        ("list-staff-only", "worklist", str(AuditTag.DOSSIER_WORKLIST_VIEWED), None)
    ]


def test_d17_an_unverified_session_is_refused_and_audited(vault: Vault) -> None:
    user_id = make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)])
    with pytest.raises(Forbidden) as refused:
        own_motion.awaiting_my_approval(vault, ctx_for(vault, user_id, Role.MEDEWERKER, verified=False))
    assert refused.value.rule == "d17-second-factor"
    assert [e.rule for e in denials(vault, user_id)] == ["d17-second-factor"]


def test_staff_still_get_the_list_without_a_denial(vault: Vault) -> None:
    user_id = make_user(vault, Role.MEDEWERKER, teams=[make_team(vault)])
    assert own_motion.awaiting_my_approval(vault, ctx_for(vault, user_id, Role.MEDEWERKER)) == []
    assert denials(vault, user_id) == []
