"""The share and triage forms (D23): without the Veilig Thuis contact's name or a plausible phone number
nothing is disclosed; the one Dutch reason sits beside its field, the form keeps what was typed and the
reason never repeats it. D9: sharing with the municipality while the child protection board is not asked
is refused beside the basis, in Dutch, and audited. The partner's page shows the contact (D23)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import ctx_for, make_org
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, CaseKind, OrgType, Role
from vault.models import AuditEntry, Case, Grant
from vault.runtime import Vault
from vault.services.cases import open_case

NAME = "Marieke de Graaf"
PHONE = "030 765 43 21"


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _grants(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Grant)) or 0)


def _share(client: TestClient, world: World, **fields: str) -> tuple[int, str]:
    form = client.get(f"/zaken/{world.case_id}/delen")
    data = {
        "csrf_token": csrf_of(form.text),
        "org_id": world.org_id,
        "purpose": "steun aan de ouders",
        "legal_basis": "wmo-4.1.1-2-help",
        "categories": "correspondence",
        "valid_days": "7",
        "max_retrievals": "2",
        "contact_name": NAME,
        "contact_phone": PHONE,
        **fields,
    }
    r = client.post(f"/zaken/{world.case_id}/delen", data=data, follow_redirects=False)
    return r.status_code, r.text


@pytest.mark.parametrize(
    ("fields", "invalid", "reason"),
    [
        ({"contact_phone": ""}, "contact_phone", "Vul het telefoonnummer van de contactpersoon in"),
        ({"contact_phone": "bel me maar"}, "contact_phone", "8 tot 15 cijfers"),
        ({"contact_name": ""}, "contact_name", "Noem de contactpersoon bij Veilig Thuis"),
        ({"contact_name": "   "}, "contact_name", "Noem de contactpersoon bij Veilig Thuis"),
    ],
)
def test_d23_share_form_without_contact_name_or_phone_names_the_reason_beside_the_field(
    worker_client: TestClient,
    vault: Vault,
    world: World,
    fields: dict[str, str],
    invalid: str,
    reason: str,
) -> None:
    before = _grants(vault)
    status, html = _share(worker_client, world, **fields)
    assert status == 400
    assert f'id="{invalid}-fout"' in html
    assert reason in html
    assert html.count('aria-invalid="true"') == 1  # one reason, one field
    assert 'value="steun aan de ouders"' in html  # what was typed is kept
    typed = fields[invalid].strip()
    if typed:
        assert f'value="{typed}"' in html  # kept in its field ...
        assert html.count(typed) == 1  # ... and nowhere else (the reason never repeats it)
    assert _grants(vault) == before
    status, _ = _share(worker_client, world)
    assert status == 303
    assert _grants(vault) == before + 1


def test_d9_share_form_refuses_the_municipality_while_the_board_is_not_asked_and_audits_it(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    municipality = make_org(vault, OrgType.MUNICIPALITY, "Gemeente Noord")
    before = _grants(vault)
    status, html = _share(
        worker_client, world, org_id=municipality, legal_basis="wmo-4.1.1-2-rvdk-municipality"
    )
    assert status == 403
    assert 'id="legal_basis-fout"' in html
    assert "Raad voor de Kinderbescherming is gevraagd een onderzoek te doen" in html
    assert _grants(vault) == before
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry.rule).where(
                AuditEntry.case_id == world.case_id,
                AuditEntry.tag == str(AuditTag.DISCLOSURE_GRANT_DENIED),
            )
        ).all()
    assert denied == ["d9-rvdk-not-asked"]


@pytest.mark.parametrize(
    ("fields", "invalid"),
    [
        ({"contact_phone": ""}, "contact_phone"),
        ({"contact_phone": "geen nummer"}, "contact_phone"),
        ({"contact_name": ""}, "contact_name"),
    ],
)
def test_d23_triage_handover_without_contact_name_or_phone_is_refused_beside_the_field(
    worker_client: TestClient, vault: Vault, world: World, fields: dict[str, str], invalid: str
) -> None:
    before = _grants(vault)
    form = worker_client.get(f"/zaken/{world.case_id}/triage")
    data = {
        "csrf_token": csrf_of(form.text),
        "outcome": "handover_local_team",
        "partner_org_id": world.org_id,
        "contact_name": NAME,
        "contact_phone": PHONE,
        "bevestigd": "ja",  # even a post that skips the confirmation page
        **fields,
    }
    r = worker_client.post(f"/zaken/{world.case_id}/triage", data=data, follow_redirects=False)
    assert r.status_code == 400
    assert f'id="{invalid}-fout"' in r.text
    kept = NAME if invalid == "contact_phone" else PHONE
    assert f'value="{kept}"' in r.text
    assert _grants(vault) == before


def test_d23_the_partner_page_shows_the_contact_name_and_phone(
    vault: Vault, clock: FrozenClock, world: World
) -> None:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.partner, clock)
        page = client.get("/partner")
    assert page.status_code == 200
    with vault.db.session() as session:
        grant = session.get(Grant, world.grant_id)
        assert grant is not None
        assert (grant.contact_name, grant.contact_phone) == ("Marieke de Vries", "030 123 45 67")
    assert "Marieke de Vries" in page.text
    assert "030 123 45 67" in page.text


def test_d9_every_rule_the_share_form_explains_is_raised_by_a_service_or_the_policy() -> None:
    """The share form answers refusals from a table keyed by rule; a rule no one raises would leave its
    Dutch words unused and the real refusal on the generic text."""
    import vault as package
    from vault.web.routes.disclosures import _REFUSALS

    root = Path(package.__file__).parent
    raising = " ".join(
        path.read_text() for folder in ("services", "policy") for path in (root / folder).rglob("*.py")
    )
    assert "d9-rvdk-not-asked" in _REFUSALS
    assert [rule for rule in _REFUSALS if f'"{rule}"' not in raising] == []


def test_d22_the_purpose_is_asked_among_what_the_partner_sees_with_the_warning_to_name_no_one(
    worker_client: TestClient, world: World
) -> None:
    """The partner reads the purpose on its inbox, so the form asks for it beside the partner-facing
    title, under the same warning, not among the internal fields."""
    html = worker_client.get(f"/zaken/{world.case_id}/delen").text
    seen = html.index("<legend>Wat de ketenpartner ziet</legend>")
    end = html.index("</fieldset>", seen)
    assert seen < html.index('id="purpose"') < end
    assert 'aria-describedby="purpose-hint"' in html
    assert "De ketenpartner ziet dit doel bij wat u deelt. Noem geen namen." in html


def test_d9_share_form_refuses_a_help_seekers_advice_case_on_a_statutory_code_in_dutch(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    """D9, D2, D4: a help seeker's advice case is shared on the help seeker's own consent only."""
    with vault.db.session() as session:
        team_id = session.get(Case, world.case_id).team_id  # type: ignore[union-attr]
        advice = open_case(
            session,
            vault,
            ctx_for(vault, world.worker.user_id, Role.MEDEWERKER),
            kind=CaseKind.ADVICE_HELP_SEEKER,
            team_id=team_id,
        ).id
    before = _grants(vault)
    form = worker_client.get(f"/zaken/{advice}/delen")
    assert form.status_code == 200, form.text
    data = {
        "csrf_token": csrf_of(form.text),
        "org_id": world.org_id,
        "purpose": "doorverwijzing",
        "legal_basis": "wmo-4.1.1-2-help",
        "categories": "advice",
        "valid_days": "7",
        "max_retrievals": "2",
        "contact_name": NAME,
        "contact_phone": PHONE,
    }
    r = worker_client.post(f"/zaken/{advice}/delen", data=data, follow_redirects=False)
    assert r.status_code == 403
    assert 'id="legal_basis-fout"' in r.text
    assert "alleen met toestemming van de hulpvrager zelf" in r.text
    assert _grants(vault) == before
