"""Review 4, finding 4: a refused form answers 400, shows again what was typed and puts the reason
beside its field (aria-invalid, aria-describedby, a linked error summary): the person lookup (D19),
the staff member's own data (D21), the break-the-glass review (D20) and a log-review finding (D21)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ctx_for
from tests.web.world import World, csrf_of, web_login
from vault.app import create_app
from vault.audit import record
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Decision, Role
from vault.logcontrole.engine import run_review
from vault.models import StaffIndex
from vault.runtime import Vault


@pytest.fixture
def worker(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.worker, clock)
        yield client


@pytest.fixture
def officer(vault: Vault, clock: FrozenClock, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as client:
        web_login(client, world.officer, clock)
        yield client


def _marked(html: str, field_id: str) -> bool:
    """The field carries aria-invalid and points to its error text, which the summary links to."""
    tag = re.search(rf'<(?:input|textarea)[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    return bool(tag) and 'aria-invalid="true"' in tag.group(0) and "-fout" in tag.group(0)  # type: ignore[union-attr]


def test_d19_person_lookup_refusals_are_400_with_the_field_marked_and_the_input_kept(
    worker: TestClient,
) -> None:
    token = csrf_of(worker.get("/").text)
    r = worker.post(
        "/zoeken", data={"csrf_token": token, "name": "Kanarie Jansen", "bsn": "", "date_of_birth": ""}
    )
    assert r.status_code == 400
    assert _marked(r.text, "date_of_birth")
    assert 'href="#date_of_birth"' in r.text
    assert "Vul ook de geboortedatum in" in r.text
    assert 'value="Kanarie Jansen"' in r.text
    r = worker.post(
        "/zoeken", data={"csrf_token": token, "bsn": "111111111", "name": "", "date_of_birth": ""}
    )
    assert r.status_code == 400
    assert _marked(r.text, "bsn")
    assert "elfproef" in r.text
    assert 'value="111111111"' in r.text
    r = worker.post(
        "/zoeken", data={"csrf_token": token, "bsn": "", "name": "Kanarie", "date_of_birth": "2015-04-01"}
    )
    assert r.status_code == 200
    assert "Geen eerdere zaken gevonden" in r.text or "gevonden:" in r.text


def test_d21_own_data_refusal_names_each_field_and_keeps_every_field(
    worker: TestClient, vault: Vault
) -> None:
    token = csrf_of(worker.get("/eigen-gegevens").text)
    sent = {
        "csrf_token": token,
        "name": "Marieke de Vries",
        "dob": "1980-02-03",
        "postcode": "12",
        "house_number": "4",
        "rel1_name": "Piet de Vries",
        "rel2_bsn": "123",
    }
    r = worker.post("/eigen-gegevens", data=sent)
    assert r.status_code == 400
    for field in ("postcode", "rel1_dob", "rel2_bsn"):
        assert _marked(r.text, field), field
        assert f'href="#{field}"' in r.text
    assert not _marked(r.text, "name")
    for value in ("Marieke de Vries", "1980-02-03", "Piet de Vries", 'value="4"'):
        assert value in r.text, value
    with vault.db.session() as session:
        assert session.scalars(select(StaffIndex)).all() == []


def _break_glass(vault: Vault, clock: FrozenClock, world: World) -> None:
    with TestClient(create_app(vault)) as outsider:
        web_login(outsider, world.outsider, clock)
        path = f"/zaken/{world.case_id}/noodtoegang"
        token = csrf_of(outsider.get(path).text)
        justification = "Melding over dit kind bij mijn dienst, acuut gevaar."
        r = outsider.post(path, data={"csrf_token": token, "justification": justification})
        assert r.status_code == 200, r.text[:300]


def test_d20_a_review_without_verdict_keeps_the_comment_on_its_own_access(
    officer: TestClient, vault: Vault, clock: FrozenClock, world: World
) -> None:
    _break_glass(vault, clock, world)
    listing = officer.get("/fg/noodtoegang").text
    [seq] = re.findall(r'name="seq" value="(\d+)"', listing)
    comment = "Besproken met de teamleider; de onderbouwing klopt."
    r = officer.post("/fg/noodtoegang", data={"csrf_token": csrf_of(listing), "seq": seq, "comment": comment})
    assert r.status_code == 400
    assert f">{comment}</textarea>" in r.text
    assert f'href="#outcome-{seq}-' in r.text
    radios = re.findall(rf'<input type="radio" id="outcome-{seq}-[^"]+"[^>]*>', r.text)
    assert radios
    assert all('aria-invalid="true" aria-describedby="outcome-fout"' in tag for tag in radios)
    assert "Kies een oordeel." in r.text
    assert f"noodtoegang {seq} is niet vastgelegd" in r.text


def test_d21_a_finding_status_refusal_keeps_the_comment_and_marks_the_field(
    officer: TestClient, vault: Vault, clock: FrozenClock, world: World
) -> None:
    ctx = ctx_for(vault, world.outsider.user_id, Role.MEDEWERKER)
    with vault.db.session() as session:
        for _ in range(8):
            record(
                session, ctx, AuditTag.DOSSIER_ACCESS_DENIED, case_id=world.case_id, decision=Decision.DENY
            )
    day = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    run_review(vault, Context.system(access_point="test", clock=clock), day, day + timedelta(days=1))
    [path] = set(re.findall(r'href="(/fg/logcontrole/\d+)"', officer.get("/fg/logcontrole").text))
    page = officer.get(path).text
    comment = "Gebeld met de medewerker: verkeerde zaak aangeklikt."
    r = officer.post(path, data={"csrf_token": csrf_of(page), "comment": comment})
    assert r.status_code == 400
    assert f">{comment}</textarea>" in r.text
    assert "Kies een status." in r.text
    radios = re.findall(r'<input type="radio" id="status-[^"]+"[^>]*>', r.text)
    assert radios
    assert all('aria-invalid="true" aria-describedby="status-fout"' in tag for tag in radios)
    assert re.search(r'href="#status-[a-z_]+"', r.text)
    r = officer.post(path, data={"csrf_token": csrf_of(page), "status": "verklaard", "comment": "x" * 2001})
    assert r.status_code == 400
    assert _marked(r.text, "comment")
    assert 'value="verklaard" required checked' in r.text
