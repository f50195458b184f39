"""Session 17 review, partner side (W4, D8): the free text typed for the partner when sharing — the
partner-facing title and the purpose — never carries the reporter's name to the partner.

The world's reporter is "Kanarie Melder" (not a professional, no consent); the child is "Kanarie Kind
Jansen", so "Kanarie" alone names the family, not the reporter (``reporter_mentions``).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import World, _ctx, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import Category
from vault.errors import InvalidInput
from vault.models import Grant
from vault.runtime import Vault
from vault.services import disclosures

REPORTER_WORD = "Melder"


def _share(vault: Vault, world: World, *, title: str | None, purpose: str) -> None:
    disclosures.create_disclosure(
        vault,
        _ctx(vault, world.worker),
        disclosures.DisclosureRequest(
            contact_name="Marieke de Vries",
            contact_phone="030 123 45 67",
            case_id=world.case_id,
            org_id=world.org_id,
            purpose=purpose,
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.REPORT}),
            partner_title=title,
            confirm_duplicate=True,
        ),
    )


def _grants(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Grant)) or 0)


@pytest.mark.parametrize(
    ("title", "purpose"),
    [
        ("Overdracht na de melding van Kanarie Melder", "warme overdracht"),
        (None, "melding door kanarie melder, overdracht"),
        ("Afspraken veiligheid", "overleg met mevrouw Melder"),
    ],
)
def test_d8_a_partner_text_naming_the_reporter_never_reaches_the_partner(
    vault: Vault, world: World, clock: FrozenClock, title: str | None, purpose: str
) -> None:
    before = _grants(vault)
    # Refused when sharing, before anything is granted; the reason names the field, never the text.
    with pytest.raises(InvalidInput) as refused:
        _share(vault, world, title=title, purpose=purpose)
    assert REPORTER_WORD.lower() not in refused.value.message.lower()
    assert _grants(vault) == before
    web = TestClient(create_app(vault))
    web_login(web, world.partner, clock)
    for page in ("/partner", "/partner/geschiedenis", "/api/v1/partner/inbox"):
        shown = web.get(page)
        assert shown.status_code in (200, 401), page
        assert REPORTER_WORD.lower() not in shown.text.lower(), page


def test_d8_the_family_name_the_reporter_shares_is_no_reason_to_refuse(vault: Vault, world: World) -> None:
    """ "Kanarie" is the child's name too: it names the family, and the partner may read it."""
    before = _grants(vault)
    _share(vault, world, title="Afspraken gezin Kanarie", purpose="warme overdracht gezin Kanarie")
    assert _grants(vault) == before + 1


@pytest.mark.parametrize("field", ["partner_title", "purpose"])
def test_d8_the_share_form_refuses_a_partner_text_naming_the_reporter_in_dutch_beside_the_field(
    vault: Vault, world: World, clock: FrozenClock, field: str
) -> None:
    with TestClient(create_app(vault)) as staff:
        web_login(staff, world.worker, clock)
        form = staff.get(f"/zaken/{world.case_id}/delen")
        data = {
            "csrf_token": csrf_of(form.text),
            "org_id": world.org_id,
            "purpose": "steun aan de ouders",
            "legal_basis": "wmo-4.1.1-2-help",
            "categories": "correspondence",
            "valid_days": "7",
            "max_retrievals": "2",
            "contact_name": "Marieke de Graaf",
            "contact_phone": "030 765 43 21",
            field: "Na de melding van Kanarie Melder",
        }
        before = _grants(vault)
        r = staff.post(f"/zaken/{world.case_id}/delen", data=data, follow_redirects=False)
    assert r.status_code == 400
    assert "noemt de melder" in r.text
    assert f'aria-describedby="{field}-fout"' in r.text or f'id="{field}-fout"' in r.text
    assert _grants(vault) == before


def test_d8_with_the_reporters_consent_and_identity_shared_the_title_may_name_the_reporter(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    from vault.services.subjects import record_reporter_consent

    record_reporter_consent(vault, _ctx(vault, world.worker), world.case_id)
    before = _grants(vault)
    disclosures.create_disclosure(
        vault,
        _ctx(vault, world.worker),
        disclosures.DisclosureRequest(
            contact_name="Marieke de Vries",
            contact_phone="030 123 45 67",
            case_id=world.case_id,
            org_id=world.org_id,
            purpose="warme overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.REPORT, Category.REPORTER_IDENTITY}),
            include_reporter_identity=True,
            partner_title="Overdracht na de melding van Kanarie Melder",
            confirm_duplicate=True,
        ),
    )
    assert _grants(vault) == before + 1


def test_d8_a_title_and_purpose_naming_the_reporter_stored_before_the_check_are_not_shown(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    """W4 residual (closed in session 18): texts sealed before sharing checked them are screened where
    the gate opens them for the partner; the title falls back to the default, the purpose is held back
    with a Dutch line, on the inbox, the history and the API alike."""
    from vault.crypto.fields import encrypt_text
    from vault.services.keyring import unwrap_case_key
    from vault.services.partner_view import PURPOSE_HELD_BACK

    with vault.db.session() as session:
        grant = session.get(Grant, world.grant_id)
        assert grant is not None
        dek = unwrap_case_key(session, vault.keys, world.case_id)
        for column, text in (
            ("partner_title", "Melding van Kanarie Melder"),
            ("purpose", "bellen met Melder"),
        ):
            sealed = encrypt_text(dek, table="grants", column=column, row_id=grant.id, value=text)
            setattr(grant, f"{column}_enc", sealed)
    web = TestClient(create_app(vault))
    web_login(web, world.partner, clock)
    inbox = web.get("/partner")
    assert inbox.status_code == 200
    assert REPORTER_WORD.lower() not in inbox.text.lower()
    assert PURPOSE_HELD_BACK in inbox.text
    assert REPORTER_WORD.lower() not in web.get("/partner/geschiedenis").text.lower()


def test_d8_a_title_naming_the_reporter_is_shown_once_the_grant_releases_the_identity(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    """The screen holds back only what the partner may not read: a grant that releases the reporter's
    identity shows its title as typed."""
    from vault.crypto.fields import encrypt_text
    from vault.services.keyring import unwrap_case_key

    with vault.db.session() as session:
        grant = session.get(Grant, world.grant_id)
        assert grant is not None
        grant.reporter_identity_released = True
        dek = unwrap_case_key(session, vault.keys, world.case_id)
        grant.partner_title_enc = encrypt_text(
            dek, table="grants", column="partner_title", row_id=grant.id, value="Melding van Kanarie Melder"
        )
    web = TestClient(create_app(vault))
    web_login(web, world.partner, clock)
    assert "Melding van Kanarie Melder" in web.get("/partner").text
