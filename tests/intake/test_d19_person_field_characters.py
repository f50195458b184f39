"""D19, D8: a person's name or address with a bidi override, a control character or nothing visible is
refused on the public form (Dutch, at the field), on the staff form and in the API, and nothing is
stored; names with accents, apostrophes, hyphens and Dutch particles stay accepted (review finding I1).

"Piet \\u202eseirV ed" shows on every staff page as "Piet de Vries" while its blind index is built
from the literal characters, so a D19 lookup for the name staff read does not find it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.helpers import api_user, team_id_of
from tests.robustness.support import web_login
from tests.web.world import World
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import BIDI_CONTROLS, CaseKind, Role
from vault.errors import InvalidInput
from vault.models import Case, ReporterIdentity, Subject
from vault.runtime import Vault
from vault.services.cases import open_case
from vault.services.intake import IntakeForm
from vault.services.pow import solve
from vault.services.subjects import PersonFields
from vault.web.public.fields import FormProblem, parse_submission

_NO_FILE = {"bijlage": ("", b"", "application/octet-stream")}
STAFF_TEAM = "Team Tekens"

REFUSED = [
    pytest.param("Piet \u202eseirV ed", id="right-to-left-override"),
    pytest.param("Jan \u2066Jansen\u2069", id="bidi-isolate"),
    pytest.param("Dorpsstraat 1\u009b2J", id="c1-control"),
    pytest.param("Jan\x07Jansen", id="c0-control"),
    pytest.param("\u200b", id="zero-width-space-only"),
    pytest.param("\ufeff\u200d", id="invisible-only"),
]
ACCEPTED = ["Zoë d'Ancona-Brontë", "Jan van der Berg", "Ünal Çelik", "Anne-Marie 't Hart", "José Nuñez"]


def _count(vault: Vault, model: type) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def public(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _citizen_report(client: TestClient, **values: str) -> dict[str, str]:
    data = client.get("/formulier/uitdaging").json()
    fields = {
        "uitdaging": data["challenge"],
        "teller": solve(data["challenge"], data["bits"]),
        "website": "",
        "zorgen": "Ik maak mij zorgen om het kind van de buren.",
        "naam": "Jan Jansen",
        "contact": "0612345678",
        "relatie": "buren",
        "betrokkene_rol": "kind",
        "betrokkene_naam": "Piet de Vries",
    }
    fields.update(values)
    return fields


# --- the public form -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["betrokkene_naam", "betrokkene_adres", "naam", "contact"])
@pytest.mark.parametrize("value", REFUSED)
def test_d19_d8_public_form_refuses_disguised_person_fields(
    public: TestClient, vault: Vault, field: str, value: str
) -> None:
    before = _count(vault, Case)
    r = public.post("/melden/burger", data=_citizen_report(public, **{field: value}), files=_NO_FILE)
    assert r.status_code == 400, r.text
    body = r.json()
    assert field in body["fields"]
    assert any("bevat tekens die niet zijn toegestaan" in problem for problem in body["problems"])
    assert value not in r.text
    assert _count(vault, Case) == before


@pytest.mark.parametrize("name", ACCEPTED)
def test_d19_public_form_keeps_accepting_real_names(public: TestClient, vault: Vault, name: str) -> None:
    before = _count(vault, Case)
    fields = _citizen_report(public, naam=name, betrokkene_naam=name, betrokkene_adres="Dorpsstraat 1-a")
    r = public.post("/melden/burger", data=fields, files=_NO_FILE)
    assert r.status_code == 201, r.text
    assert _count(vault, Case) == before + 1


@given(
    st.text(min_size=1, max_size=20),
    st.sampled_from([*sorted(BIDI_CONTROLS), "\x00", "\x1b", "\x7f", "\x9b", "\x9f"]),
)
def test_d19_every_bidi_or_control_character_is_refused_at_the_field(text: str, bad: str) -> None:
    """Property: wherever it stands, one such character makes the person field a problem (no store)."""
    fields = {
        "zorgen": "Zorgen.",
        "naam": "Jan Jansen",
        "contact": "0612345678",
        "relatie": "buren",
        "betrokkene_rol": "kind",
        "betrokkene_adres": text + bad + text,
    }
    with pytest.raises(FormProblem) as refused:
        parse_submission(IntakeForm.REPORT_CITIZEN, fields, date(2026, 3, 2))
    assert "betrokkene_adres" in refused.value.fields


# --- the services (staff forms and API go through them) -----------------------------------------------


@pytest.mark.parametrize("value", REFUSED)
def test_d19_the_service_refuses_disguised_names_and_addresses(value: str) -> None:
    for fields in (PersonFields(name=value), PersonFields(name="Piet de Vries", address=value)):
        with pytest.raises(InvalidInput) as refused:
            fields.checked()
        assert value not in refused.value.message


@pytest.mark.parametrize("name", ACCEPTED)
def test_d19_the_service_accepts_real_names(name: str) -> None:
    assert PersonFields(name=name, address="Dorpsstraat 1-a").checked().name == name


def _staff_case(vault: Vault, user_id: str) -> str:
    team_id = team_id_of(vault, STAFF_TEAM)
    ctx = Context(
        actor_id=user_id,
        role="medewerker",
        access_point="test",
        second_factor_verified=True,
        clock=vault.clock,
    )
    with vault.db.session() as session:
        return open_case(session, vault, ctx, kind=CaseKind.REPORT, team_id=team_id).id


def test_d19_api_refuses_a_disguised_subject_with_400(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=STAFF_TEAM)
    case_id = _staff_case(vault, worker.user_id)
    before = _count(vault, Subject)
    for param in REFUSED:
        (value,) = param.values
        assert isinstance(value, str)
        for field in ("name", "address"):
            body = {"relation": "child", "name": "Piet de Vries", field: value}
            r = client.post(f"/api/v1/cases/{case_id}/subjects", headers=worker.headers, json=body)
            assert r.status_code == 400, (param.id, field, r.text)
            assert value not in r.text
    assert _count(vault, Subject) == before
    r = client.post(
        f"/api/v1/cases/{case_id}/subjects",
        headers=worker.headers,
        json={"relation": "child", "name": "Anne-Marie 't Hart", "address": "Dorpsstraat 1-a"},
    )
    assert r.status_code == 201, r.text


def test_d19_staff_opening_form_refuses_disguised_names_with_400(vault: Vault, clock: FrozenClock) -> None:
    user = web_login(vault, clock, Role.MEDEWERKER, team=STAFF_TEAM)
    before = (_count(vault, Case), _count(vault, ReporterIdentity))
    base = {
        "csrf_token": user.csrf,
        "team_id": team_id_of(vault, STAFF_TEAM),
        "reporter_kind": "burger",
        "reporter_name": "Jan Jansen",
        "p1_relation": "child",
        "p1_name": "Piet de Vries",
    }
    for changed in (
        {"p1_name": "Piet \u202eseirV ed"},
        {"p1_address": "\u200b"},
        {"reporter_name": "Jan\u009bJansen"},
    ):
        r = user.client.post(
            "/zaken/nieuw/melding", data={**base, **changed}, headers={"Sec-Fetch-Site": "same-origin"}
        )
        assert r.status_code == 400, (changed, r.status_code)  # the form comes back to be corrected
        (field,) = changed  # the reason stands at the field that holds the characters
        assert re.search(rf'<input id="{field}"[^>]*aria-invalid="true"', r.text), field
    assert (_count(vault, Case), _count(vault, ReporterIdentity)) == before
    # the same form with ordinary values opens the case: the refusals above were about the characters
    r = user.client.post(
        "/zaken/nieuw/melding", data=base, headers={"Sec-Fetch-Site": "same-origin"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
