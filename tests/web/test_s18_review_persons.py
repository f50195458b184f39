"""Session 18 review of the persons of a case: the subject form, the case page's table of subjects and
the page after opening (D19, D8). Each test failed on the code before the fix.

Real app, real accounts with TOTP, real SQLite, real crypto and Casbin; the clock is the only double
(2 March 2026 in the world of ``tests.web.world``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.world import CANARY_CHILD, World, _ctx, csrf_of, web_login
from vault.app import create_app
from vault.context import FrozenClock
from vault.domain import AuditTag, CaseKind, Role
from vault.errors import Conflict, InvalidInput
from vault.models import AuditEntry, Subject
from vault.runtime import Vault
from vault.services import cases, lookup, subjects
from vault.services.case_view import read_subjects
from vault.services.person_fields import PersonFields, Relation
from vault.transaction import transaction

BSN = "111222333"  # passes the eleven-test


@pytest.fixture
def worker_client(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


def _child(vault: Vault, case_id: str) -> str:
    with vault.db.session() as session:
        return str(
            session.scalars(
                select(Subject.id).where(Subject.case_id == case_id, Subject.relation == "child")
            ).first()
        )


def _correct(client: TestClient, case_id: str, subject_id: str, **fields: str) -> tuple[int, str]:
    url = f"/zaken/{case_id}/betrokkenen/{subject_id}/corrigeren"
    token = csrf_of(client.get(url).text)
    data = {"csrf_token": token, "relation": "child", "name": CANARY_CHILD, "bsn": "", "address": ""}
    r = client.post(url, data={**data, **fields}, follow_redirects=False)
    return r.status_code, r.text


# --- E1: a date of birth in the future --------------------------------------------------------------


def test_d19_the_subject_form_refuses_a_date_of_birth_in_the_future_in_dutch(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    """The opening forms refuse a birth date after today; the correction form stored 01-01-2027, and
    the blind index then carried a person who cannot exist (and whom no lookup finds)."""
    child = _child(vault, world.case_id)
    status, html = _correct(worker_client, world.case_id, child, date_of_birth="01-01-2027")
    assert status == 400, status
    assert "De geboortedatum ligt in de toekomst." in html
    (kept,) = read_subjects(vault, _ctx(vault, world.worker), world.case_id)
    assert kept.date_of_birth == "2016-03-01"


def test_d19_the_services_refuse_a_date_of_birth_in_the_future_for_api_and_cli(
    vault: Vault, world: World
) -> None:
    """The API's ``Day`` checks only the year's range: the service itself refuses tomorrow (Dutch date
    of the vault's clock), when a subject is added, corrected or a report is opened; nothing is written."""
    ctx = _ctx(vault, world.worker)
    tomorrow = PersonFields(name="Toekomst Kind", date_of_birth=date(2026, 3, 3))
    with pytest.raises(InvalidInput):
        subjects.add_subject(vault, ctx, world.case_id, relation=Relation.CHILD, fields=tomorrow)
    with pytest.raises(InvalidInput):
        subjects.correct_subject(
            vault, ctx, world.case_id, _child(vault, world.case_id), relation=Relation.CHILD, fields=tomorrow
        )
    from tests.helpers import team_id_of
    from tests.web.world import TEAM

    team_id = team_id_of(vault, TEAM)
    with pytest.raises(InvalidInput), transaction(vault.db) as session:
        cases.open_report(
            session,
            vault,
            ctx,
            team_id=team_id,
            reporter=subjects.ReporterFields(name="Een Melder", professional=False),
            subjects=[(Relation.CHILD, tomorrow)],
        )
    with vault.db.session() as session:
        names = len(list(session.scalars(select(Subject.id))))
    assert names == 1  # the world's child only
    today = PersonFields(name="Vandaag Geboren", date_of_birth=date(2026, 3, 2))
    subjects.add_subject(vault, ctx, world.case_id, relation=Relation.CHILD, fields=today)


# --- E2: the whole BSN on the case page ---------------------------------------------------------------


def test_s18_the_case_page_does_not_show_a_subjects_whole_bsn(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    """The table of subjects is read by everyone who opens the case (and under break-the-glass); the
    whole BSN is needed only to correct it: the table shows its last three digits."""
    child = _child(vault, world.case_id)
    status, _ = _correct(worker_client, world.case_id, child, bsn=BSN, date_of_birth="01-03-2016")
    assert status == 303
    html = worker_client.get(f"/zaken/{world.case_id}").text
    assert BSN not in html
    assert "333" in html.split('data-label="BSN"', 1)[1].split("</td>", 1)[0]
    form = worker_client.get(f"/zaken/{world.case_id}/betrokkenen/{child}/corrigeren").text
    assert BSN in form  # the correction form still holds the whole number to change it


# --- E3: the page after opening as an unlimited person lookup --------------------------------------------


def test_d19_the_opened_page_cannot_be_reloaded_as_an_unlimited_person_lookup(
    worker_client: TestClient, vault: Vault, world: World, clock: FrozenClock
) -> None:
    """A worker corrects a report's child to a guessed name + date of birth and reloads "Zaak geopend":
    each reload answered whether a professional asked advice about that person, past the lookup limit
    (20 in 10 minutes) the start page keeps. The first answer after opening stays free; every later one
    counts as a person lookup, and over the limit it is refused (429, audited ``d19-lookup-rate``)."""
    from tests.helpers import make_org, make_user, team_id_of
    from tests.web.world import TEAM
    from vault.domain import OrgType

    pro = make_user(vault, Role.PROFESSIONAL, org_id=make_org(vault, OrgType.SCHOOL))
    ctx = _ctx(vault, world.worker)
    secret_day = date(2016, 1, 17)
    team_id = team_id_of(vault, TEAM)
    with vault.db.session() as session:
        cases.open_professional_advice(
            session,
            vault,
            ctx,
            professional_id=pro,
            meldcode_step=2,
            team_id=team_id,
            client=PersonFields(name=CANARY_CHILD, date_of_birth=secret_day),
        )
    child = _child(vault, world.case_id)
    answered, refused, found_on = 0, 0, None
    for offset in range(1, 31):
        day = date(2016, 1, offset)
        status, _ = _correct(worker_client, world.case_id, child, date_of_birth=day.strftime("%d-%m-%Y"))
        assert status == 303
        r = worker_client.get(f"/zaken/{world.case_id}/geopend")
        if r.status_code == 429:
            refused += 1
            assert "1 eerder advies" not in r.text
            continue
        assert r.status_code == 200
        answered += 1
        if "Eerder advies van een professional" in r.text:
            found_on = day
    assert refused > 0, f"{answered} answers, the advice found on {found_on}"
    assert answered <= lookup.LOOKUP_LIMITS[0][0] + 1
    with vault.db.session() as session:
        denied = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED),
                AuditEntry.rule == lookup.LOOKUP_RATE_RULE,
            )
        ).all()
    assert len(denied) == refused


def test_d19_the_first_answer_after_opening_a_report_is_not_counted(vault: Vault, world: World) -> None:
    """Opening stays free of the limit: a worker who used every lookup still opens a report and is told
    of earlier advice once."""
    from tests.helpers import team_id_of
    from tests.web.world import TEAM
    from vault.services import opening

    ctx = _ctx(vault, world.worker)
    for n in range(lookup.LOOKUP_LIMITS[0][0]):
        lookup.lookup_person(vault, ctx, name=f"Iemand {n}", date_of_birth=date(2010, 1, 1))
    team_id = team_id_of(vault, TEAM)
    with transaction(vault.db) as session:
        case_id = cases.open_report(
            session,
            vault,
            ctx,
            team_id=team_id,
            reporter=subjects.ReporterFields(name="Een Melder", professional=False),
            subjects=[(Relation.CHILD, PersonFields(name="Nieuw Kind", date_of_birth=date(2015, 5, 5)))],
        ).id
    assert opening.advice_signal(vault, ctx, case_id) == 0
    assert CaseKind.REPORT  # the kind opened


# --- E4: typed values cut to look valid -------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("date_of_birth", "01-03-2016" + " " * 12 + "2017"),
        ("bsn", BSN + " " * 12 + "12"),
    ],
)
def test_s18_the_subject_form_refuses_what_it_would_have_cut_to_look_valid(
    worker_client: TestClient, vault: Vault, world: World, field: str, typed: str
) -> None:
    """The form kept 20 characters of a date and a BSN and 300 of a name and stored what was left:
    "01-03-2016 … 2017" became 1 March 2016, a BSN with two more digits passed. Refused at the field."""
    child = _child(vault, world.case_id)
    fields = {"date_of_birth": "01-03-2016", field: typed}
    status, html = _correct(worker_client, world.case_id, child, **fields)
    assert status == 400, status
    assert 'aria-invalid="true"' in html
    (kept,) = read_subjects(vault, _ctx(vault, world.worker), world.case_id)
    assert (kept.name, kept.bsn) == (CANARY_CHILD, None)


def test_s18_the_subject_form_keeps_a_name_whole_instead_of_cutting_it(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    """A name pasted with a run of spaces lost everything after its 300th character; now the spaces
    are folded and the whole name is kept."""
    child = _child(vault, world.case_id)
    typed = "Kind" + " " * 300 + "Achternaam"
    status, _ = _correct(worker_client, world.case_id, child, name=typed, date_of_birth="01-03-2016")
    assert status == 303
    (kept,) = read_subjects(vault, _ctx(vault, world.worker), world.case_id)
    assert kept.name == "Kind Achternaam"


# --- E5: a double submit adds the same person twice -----------------------------------------------------


def test_s18_a_double_submit_of_the_subject_form_adds_the_person_once(
    worker_client: TestClient, vault: Vault, world: World
) -> None:
    """Two posts of one filled-in form (a double click, a resent form) added the same person twice:
    two rows, each with the BSN, and the second's lookup entries and inzage beside the first. The same
    person (BSN, or name + date of birth) is refused a second time on one case: 409, said in Dutch at
    the field, audited, nothing written."""
    url = f"/zaken/{world.case_id}/betrokkenen"
    token = csrf_of(worker_client.get(f"{url}/nieuw").text)
    data = {
        "csrf_token": token,
        "relation": "parent",
        "name": "Moeder Jansen",
        "date_of_birth": "02-05-1990",
        "bsn": BSN,
        "address": "",
    }
    first = worker_client.post(url, data=data, follow_redirects=False)
    again = worker_client.post(url, data=data, follow_redirects=False)
    assert first.status_code == 303
    assert again.status_code == 409, again.status_code
    assert "staat al bij deze zaak" in again.text
    with vault.db.session() as session:
        rows = list(session.scalars(select(Subject.id).where(Subject.case_id == world.case_id)))
        refused = session.scalars(
            select(AuditEntry).where(
                AuditEntry.case_id == world.case_id, AuditEntry.rule == subjects.SUBJECT_TWICE
            )
        ).all()
    assert len(rows) == 2  # the world's child and the mother, once
    assert len(refused) == 1
    assert BSN not in str(refused[0].details)
    # by BSN alone, under another spelling of the name, too
    with pytest.raises(Conflict):
        subjects.add_subject(
            vault,
            _ctx(vault, world.worker),
            world.case_id,
            relation=Relation.PARENT,
            fields=PersonFields(name="M. Jansen", bsn="111.222.333"),
        )
