"""D4/D22: the pending own-motion conversion (staff's free-text reason about the family, and who asked
and approved) is read by staff only, as requesting and approving it are. The policy lets the
professional who asked the advice read their own advice case; ``pending_conversion`` still refuses
them, audited as a refusal with rule ``d4-staff-only`` (no allow entry for a read that did not happen)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.world import Person, World, _ctx, _person, build_world
from vault.context import Context
from vault.domain import AuditTag, OrgType, Role
from vault.errors import Forbidden
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import own_motion
from vault.services.accounts import create_organisation
from vault.services.cases import open_professional_advice
from vault.transaction import transaction

REASON = "Kanarie-reden: moeder vertelde in gesprek dat vader dreigt; hoog en acuut risico."


def advice_of_a_professional(vault: Vault) -> tuple[str, Person]:
    """A D3 advice case registered under a GP's name (the professional may read its advice)."""
    system = Context.system(access_point="test", clock=vault.clock)
    with transaction(vault.db) as session:
        create_organisation(session, system, "Huisartsenpraktijk", str(OrgType.GP))
    prof = _person(vault, "huisarts.dekker", Role.PROFESSIONAL, org="Huisartsenpraktijk")
    with vault.db.session() as session:
        case_id = open_professional_advice(
            session, vault, _ctx(vault, prof), professional_id=prof.user_id, meldcode_step=2
        ).id
    return case_id, prof


def _entries(vault: Vault, actor_id: str) -> list[AuditEntry]:
    with vault.db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.actor_id == actor_id)))


@pytest.fixture
def world(vault: Vault) -> World:
    return build_world(vault)


def test_d4_the_professional_is_refused_the_pending_conversion_and_the_refusal_is_audited(
    vault: Vault, world: World
) -> None:
    case_id, prof = advice_of_a_professional(vault)
    own_motion.request_own_motion(vault, _ctx(vault, world.worker), case_id, reason=REASON)
    before = len(_entries(vault, prof.user_id))

    with pytest.raises(Forbidden) as refused:
        own_motion.pending_conversion(vault, _ctx(vault, prof), case_id)
    assert refused.value.rule == "d4-staff-only"
    assert REASON not in str(refused.value)

    new = _entries(vault, prof.user_id)[before:]
    assert [(e.tag, e.decision, e.rule, e.case_id) for e in new] == [
        (str(AuditTag.DOSSIER_ACCESS_DENIED), "deny", "d4-staff-only", case_id)
    ]
    assert str(AuditTag.DOSSIER_OWN_MOTION_READ) in new[0].details  # what was attempted
    assert REASON not in new[0].details


def test_d4_the_professional_is_refused_even_when_no_conversion_is_pending(
    vault: Vault, world: World
) -> None:
    """The refusal does not tell the professional whether Veilig Thuis is preparing a takeover."""
    case_id, prof = advice_of_a_professional(vault)
    with pytest.raises(Forbidden):
        own_motion.pending_conversion(vault, _ctx(vault, prof), case_id)


def test_d4_staff_still_read_the_pending_conversion(vault: Vault, world: World) -> None:
    case_id, _prof = advice_of_a_professional(vault)
    worker = _ctx(vault, world.worker)
    conversion_id = own_motion.request_own_motion(vault, worker, case_id, reason=REASON)
    pending = own_motion.pending_conversion(vault, worker, case_id)
    assert pending is not None
    assert (pending.conversion_id, pending.reason, pending.requested_by) == (
        conversion_id,
        REASON,
        world.worker.user_id,
    )
    read = [
        e for e in _entries(vault, world.worker.user_id) if e.tag == str(AuditTag.DOSSIER_OWN_MOTION_READ)
    ]
    assert [(e.decision, e.case_id) for e in read] == [("allow", case_id)]
