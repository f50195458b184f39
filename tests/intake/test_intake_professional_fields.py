"""A professional's report is received whenever every field is within its own limit (D8).

The professional's organisation and profession are sealed together in the reporter identity's
``organisation`` column ("organisation (profession)"); that column holds both at their full length,
so a long school foundation's name with a long job title is no reason to refuse the report.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.intake.test_intake_integrity import CANARY, PROFESSIONAL_REPORT, _post
from tests.web.world import World
from vault.app import create_app
from vault.models import ReporterIdentity
from vault.runtime import Vault
from vault.web.public import fields as public_fields

ORGANISATION = ("Stichting Openbaar Primair Onderwijs " + "Regio Zuid-Holland Noord " * 7)[:200]
PROFESSION = ("Intern begeleider en " + "zorgcoördinator voor de onderbouw " * 6)[:200]


def _identities(vault: Vault) -> int:
    with vault.db.session() as session:
        return len(session.scalars(select(ReporterIdentity.case_id)).all())


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def test_d8_the_reporter_column_holds_organisation_and_profession_at_their_full_length() -> None:
    from vault.services.subjects import REPORTER_ORGANISATION_LIMIT

    limit = public_fields._SHORT
    assert len(f"{'o' * limit} ({'p' * limit})") <= REPORTER_ORGANISATION_LIMIT


def test_d8_a_professional_report_with_the_longest_organisation_and_profession_is_received(
    client: TestClient, vault: Vault
) -> None:
    assert len(ORGANISATION) == len(PROFESSION) == public_fields._SHORT
    form = {**PROFESSIONAL_REPORT, "organisatie": ORGANISATION, "beroep": PROFESSION}
    answer = _post(client, "/melden/professional", form)
    assert answer.status_code == 201, answer.text
    reference = answer.json()["reference"]
    assert CANARY not in answer.text
    with vault.db.session() as session:
        identity = session.scalars(
            select(ReporterIdentity).where(
                ReporterIdentity.case_id.startswith(reference.removeprefix("VT-").replace("-", "").lower())
            )
        ).one()
        assert identity.professional
        # Sealed, not stored in clear (D8)
        assert identity.organisation_enc
        assert ORGANISATION.encode() not in identity.organisation_enc


def test_a_profession_over_its_own_limit_is_named_and_nothing_is_stored(
    client: TestClient, vault: Vault
) -> None:
    form = {**PROFESSIONAL_REPORT, "organisatie": ORGANISATION, "beroep": PROFESSION + "x"}
    before = _identities(vault)
    answer = _post(client, "/melden/professional", form)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["fields"] == ["beroep"]
    assert "Uw beroep is te lang" in body["problems"][0]
    assert _identities(vault) == before
