"""D9, D13 on the consent form: a consent to share given by the child names the child, chosen from the
case's children as the case page shows them (name, else "Kind" and the row's number; never an id), and
is refused in Dutch beside that field when the child is under 12 or of unknown age (400, what was chosen
kept, audited ``d9-consent-giver``, nothing recorded). The form offers only the givers the service
accepts for the case (``consents.consent_givers``): on a report everyone the dossier is about but the
alleged perpetrator and "other", and "the child" only once a child is recorded.

Real app, real accounts with TOTP, real database and crypto; the clock is the only double.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import case_entries, new_case, team_id_of
from tests.web.world import CANARY_CHILD, TEAM, World, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, CaseKind, Role
from vault.models import Consent, Subject
from vault.runtime import Vault
from vault.services import subjects
from vault.services.person_fields import PersonFields, Relation

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _ctx(vault: Vault, world: World) -> Context:
    return Context(
        actor_id=world.worker.user_id,
        role=str(Role.MEDEWERKER),
        access_point="test",
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _options(html: str, name: str) -> list[tuple[str, str]]:
    """(value, visible text) of the options of the select ``name``, the empty choice left out."""
    select_html = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    found = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_html)
    return [(value, text) for value, text in found if value]


def _child_ids(vault: Vault, case_id: str) -> dict[str, str]:
    with vault.db.session() as session:
        rows = session.execute(
            select(Subject.id, Subject.relation)
            .where(Subject.case_id == case_id)
            .order_by(Subject.created_at)
        ).all()
    return {str(subject_id): str(relation) for subject_id, relation in rows}


def _post(client: TestClient, case_id: str, **fields: str) -> tuple[int, str]:
    token = csrf_of(client.get(f"/zaken/{case_id}/toestemmingen/nieuw").text)
    data = {"csrf_token": token, "scope": "share_with_partner", "given_by": "child", **fields}
    r = client.post(f"/zaken/{case_id}/toestemmingen", data=data, follow_redirects=False)
    return r.status_code, r.text


def _child_consents(vault: Vault, case_id: str) -> list[str | None]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(Consent.subject_id).where(Consent.case_id == case_id, Consent.given_by == "child")
            )
        )


def test_d9_d13_the_form_names_each_child_as_the_case_page_does_never_by_id(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    clock.advance(minutes=1)  # after the world's subjects, in the order the case page lists them
    subjects.add_subject(
        vault, _ctx(vault, world), world.case_id, relation=Relation.CHILD, fields=PersonFields()
    )
    page = worker_client.get(f"/zaken/{world.case_id}/toestemmingen/nieuw")
    assert page.status_code == 200
    children = _options(page.text, "subject_id")
    ids = _child_ids(vault, world.case_id)
    assert [value for value, _ in children] == [i for i, relation in ids.items() if relation == "child"]
    texts = [text for _, text in children]
    assert texts[0] == f"{CANARY_CHILD}, geboren 01-03-2016"
    number = list(ids).index(children[1][0]) + 1  # its row in the case page's table of subjects
    assert texts[1] == f"Kind {number}, geboortedatum niet vastgelegd"
    assert not any(_UUID.search(text) for text in texts)
    assert "child" in [value for value, _ in _options(page.text, "given_by")]


def test_d9_d13_a_childs_consent_without_a_named_child_or_from_a_child_under_12_is_refused_in_dutch(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    """The world's child was born 1 March 2016: 10 on the clock's day (2 March 2026)."""
    status, html = _post(worker_client, world.case_id, recipient_org_id=world.org_id)
    assert status == 400
    assert "Kies welk kind de toestemming gaf." in html
    assert _child_consents(vault, world.case_id) == []

    (young,) = [i for i, relation in _child_ids(vault, world.case_id).items() if relation == "child"]
    status, html = _post(worker_client, world.case_id, recipient_org_id=world.org_id, subject_id=young)
    assert status == 400
    assert "een kind geeft toestemming om te delen vanaf 12 jaar" in html
    child_select = re.search(r'<select id="subject_id"[^>]*>', html)
    assert child_select is not None
    assert 'aria-invalid="true"' in child_select.group(0)
    assert f'<option value="{young}" selected>' in html  # the choice is kept
    assert [e.rule for e in case_entries(vault, world.case_id, AuditTag.DOSSIER_ACCESS_DENIED)] == [
        "d9-consent-giver"
    ]
    assert _child_consents(vault, world.case_id) == []


def test_d9_d13_a_child_of_12_or_older_named_on_the_form_gives_the_consent(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    teen = subjects.add_subject(
        vault,
        _ctx(vault, world),
        world.case_id,
        relation=Relation.CHILD,
        fields=PersonFields(name="Tiener Jansen", date_of_birth=date(2013, 3, 2)),
    )
    status, _ = _post(worker_client, world.case_id, recipient_org_id=world.org_id, subject_id=teen)
    assert status == 303
    assert _child_consents(vault, world.case_id) == [teen]


def test_d9_the_form_offers_the_child_only_once_a_child_is_recorded_and_never_the_perpetrator(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    ctx = _ctx(vault, world)
    case_id = new_case(vault, ctx, team_id_of(vault, TEAM), CaseKind.REPORT)
    page = worker_client.get(f"/zaken/{case_id}/toestemmingen/nieuw")
    givers = [value for value, _ in _options(page.text, "given_by")]
    assert givers == ["help_seeker", "parent", "partner", "household_member"]
    assert 'name="subject_id"' not in page.text
    subjects.add_subject(vault, ctx, case_id, relation=Relation.CHILD, fields=PersonFields(name="Klein Kind"))
    page = worker_client.get(f"/zaken/{case_id}/toestemmingen/nieuw")
    assert "child" in [value for value, _ in _options(page.text, "given_by")]
    assert [text for _, text in _options(page.text, "subject_id")] == [
        "Klein Kind, geboortedatum niet vastgelegd"
    ]


def test_d9_d13_the_case_page_names_the_child_and_a_correction_under_12_lapses_the_consent(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    """The table of consents says which child gave one; a correction of that child's date of birth to
    an age under 12 withdraws it (``d9-child-consent-lapsed``) and the page says so, in Dutch."""
    teen = subjects.add_subject(
        vault,
        _ctx(vault, world),
        world.case_id,
        relation=Relation.CHILD,
        fields=PersonFields(name="Tiener Jansen", date_of_birth=date(2013, 3, 2)),
    )
    status, _ = _post(worker_client, world.case_id, recipient_org_id=world.org_id, subject_id=teen)
    assert status == 303
    page = worker_client.get(f"/zaken/{world.case_id}").text
    assert "Kind (Tiener Jansen)" in page

    edit = worker_client.get(f"/zaken/{world.case_id}/betrokkenen/{teen}/corrigeren")
    assert edit.status_code == 200
    data = {
        "csrf_token": csrf_of(edit.text),
        "relation": "child",
        "name": "Tiener Jansen",
        "date_of_birth": "02-03-2016",
    }
    r = worker_client.post(f"/zaken/{world.case_id}/betrokkenen/{teen}/corrigeren", data=data)
    assert r.status_code == 200
    assert "De toestemming om te delen die dit kind gaf, is vervallen" in r.text
    assert "Ingetrokken op" in r.text
    lapsed = case_entries(vault, world.case_id, AuditTag.DOSSIER_CONSENT_WITHDRAWN)
    assert [e.rule for e in lapsed] == ["d9-child-consent-lapsed"]
