"""Session 18 review, sharing from the staff side: the reporter's identity flag on a grant that does not
carry it (D8) and a double submit of "Toch delen" (D9, double submit).

The world's reporter is "Kanarie Melder" (not a professional); the world holds one live disclosure of
the safety conditions to the local team.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import case_entries
from tests.web.world import World, _ctx, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, Category
from vault.models import Grant
from vault.runtime import Vault
from vault.services import disclosures

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _grants(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Grant)) or 0)


def _released_grants(vault: Vault) -> int:
    with vault.db.session() as session:
        stmt = select(func.count()).select_from(Grant).where(Grant.reporter_identity_released.is_(True))
        return int(session.scalar(stmt) or 0)


def test_d8_d15_the_reporter_flag_without_the_reporters_identity_releases_nothing(
    vault: Vault, world: World
) -> None:
    """A grant of the report only, sent with ``include_reporter_identity`` (the API's flag) while the
    reporter consented, was recorded as releasing the reporter's identity although it carried none: the
    row said so (``reporter_identity_released``) and so did its creation entry
    (``reporter_identity: true``), which keeps the grant's entries out of the subject's proof bundle
    (``proof_bundles._handed_out``) and tells whoever reads the register the identity went out."""
    from vault.services.subjects import record_reporter_consent

    record_reporter_consent(vault, _ctx(vault, world.worker), world.case_id)
    plain = disclosures.create_disclosure(
        vault,
        _ctx(vault, world.worker),
        disclosures.DisclosureRequest(
            contact_name="Marieke de Vries",
            contact_phone="030 123 45 67",
            case_id=world.case_id,
            org_id=world.org_id,
            purpose="warme overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.REPORT}),
            include_reporter_identity=True,
            confirm_duplicate=True,
        ),
    )
    assert _released_grants(vault) == 0
    created = [
        e
        for e in case_entries(vault, world.case_id, AuditTag.DISCLOSURE_GRANT_CREATED)
        if e.object_id == plain.id
    ]
    assert created
    assert all(json.loads(e.details or "{}").get("reporter_identity") is False for e in created)


def _share_form(world: World) -> dict[str, str]:
    return {
        "org_id": world.org_id,
        "purpose": "steun aan de ouders",
        "legal_basis": "wmo-4.1.1-2-help",
        "categories": "safety_conditions",
        "valid_days": "7",
        "max_retrievals": "2",
        "contact_name": "Marieke de Graaf",
        "contact_phone": "030 765 43 21",
    }


def test_s18_a_double_submitted_toch_delen_makes_one_disclosure_not_two(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    """The duplicate warning's "Toch delen" clicked twice (or sent again after a slow answer) made two
    more disclosures to the same partner: the confirmation skipped the duplicate check altogether, so
    the second post did not see the disclosure the first had just made."""
    with TestClient(create_app(vault)) as staff:
        web_login(staff, world.worker, clock)
        form = staff.get(f"/zaken/{world.case_id}/delen")
        data = {"csrf_token": csrf_of(form.text), **_share_form(world)}
        warned = staff.post(f"/zaken/{world.case_id}/delen", data=data, follow_redirects=False)
        assert warned.status_code == 409
        assert _grants(vault) == 1
        confirm: dict[str, list[str]] = {"toch_delen": ["1"]}
        for name, value in _HIDDEN.findall(warned.text):
            confirm.setdefault(name, []).append(value)
        first = staff.post(f"/zaken/{world.case_id}/delen", data=confirm, follow_redirects=False)
        assert first.status_code == 303
        assert _grants(vault) == 2
        second = staff.post(f"/zaken/{world.case_id}/delen", data=confirm, follow_redirects=False)
    assert _grants(vault) == 2
    assert second.status_code == 409  # held back again: the warning now shows the one just made
    assert "Er loopt al een verstrekking" in second.text


def test_s18_a_confirmation_lets_through_only_the_disclosure_it_confirmed(vault: Vault, world: World) -> None:
    """The service (and ``POST /api/v1/cases/{id}/disclosures`` with ``confirm_duplicate_of``): the
    confirmed request sent twice makes one grant; the second is held back naming the first's grant."""
    request = disclosures.DisclosureRequest(
        contact_name="Marieke de Vries",
        contact_phone="030 123 45 67",
        case_id=world.case_id,
        org_id=world.org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=frozenset({Category.SAFETY_CONDITIONS}),
        confirm_duplicate=True,
        confirmed_duplicate_of=world.grant_id,
    )
    first = disclosures.create_disclosure(vault, _ctx(vault, world.worker), request)
    with pytest.raises(disclosures.DuplicateDisclosure) as held_back:
        disclosures.create_disclosure(vault, _ctx(vault, world.worker), request)
    assert held_back.value.existing.id == first.id
    assert _grants(vault) == 2
    assert len(case_entries(vault, world.case_id, AuditTag.DISCLOSURE_GRANT_DUPLICATE_WARNED)) == 1


def test_s18_the_revoke_page_of_a_revoked_disclosure_does_not_offer_to_revoke_it_again(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    """After a revocation (by a colleague, or the same page in another tab) the confirmation page still
    said "Na intrekken kan … niets meer ophalen … Dat geldt meteen" with an "Intrekken" button, and
    pressing it answered "verstrekking ingetrokken" although nothing was done (and nothing audited)."""
    disclosures.revoke_disclosure(vault, _ctx(vault, world.worker), world.grant_id)
    with TestClient(create_app(vault)) as staff:
        web_login(staff, world.worker, clock)
        page = staff.get(f"/zaken/{world.case_id}/verstrekkingen/{world.grant_id}/intrekken")
    assert page.status_code == 200
    assert "is al ingetrokken" in page.text
    assert "Na intrekken" not in page.text
    assert ">Intrekken</button>" not in page.text
