"""Session 18 review of the public side: findings reproduced against the real app, real SQLite, real
crypto; the suite's frozen clock is the only double."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from tests.intake.test_d5_lost_answer_sent_again import ADVICE, _counts, _proof
from tests.web.world import TEAM, World
from vault.app import create_app
from vault.config import Settings
from vault.context import FrozenClock
from vault.domain import AuditTag
from vault.errors import InvalidInput
from vault.models import AuditEntry, Subject
from vault.runtime import Vault
from vault.services import intake
from vault.services.calendar import local_date
from vault.services.intake import IntakeForm, Submission
from vault.services.subjects import PersonFields, Relation, ReporterFields

EMPTY_FILE = {"bijlage": ("", b"", "application/octet-stream")}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, neutral_site: str) -> Settings:
    # A free allowance of one submission an hour: the second one from this address asks one more bit.
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        password_hashing="fast_insecure_for_tests",
        cookie_secure=False,
        quick_exit_url=neutral_site,
        intake_team=TEAM,
        intake_pow_bits=8,
        intake_limit_per_hour=1,
        intake_ceiling_per_hour=3,
        intake_max_bytes=1024 * 1024,
    )


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _told_the_first(again: Response, first_reference: str) -> None:
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["ok"] is True, body
    assert body["again"] is True, body
    assert body["reference"] == first_reference


# --- P1: a lost answer sent again after the address's count rose, or after the proof expired ------------


def test_d5_a_lost_answer_sent_again_past_the_free_allowance_is_told_its_reference(
    client: TestClient, vault: Vault
) -> None:
    """The first send counted towards the address, so the same proof sent again is "too easy" now:
    ``pow_harder`` made the page fetch a harder challenge and send again by itself, a second case."""
    proof = _proof(client)
    first = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    assert first.status_code == 201, first.text
    after_first = _counts(vault)

    again = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    _told_the_first(again, first.json()["reference"])
    assert _counts(vault) == after_first


def test_d5_a_lost_answer_sent_again_after_the_proof_expired_is_told_its_reference(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    """A person who waited before pressing "Versturen" again got ``pow_expired``: the page fetched a
    fresh challenge and sent again by itself, a second, identical case."""
    proof = _proof(client)
    first = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    assert first.status_code == 201, first.text
    after_first = _counts(vault)

    clock.advance(minutes=vault.settings.intake_challenge_minutes, seconds=1)
    again = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    _told_the_first(again, first.json()["reference"])
    assert _counts(vault) == after_first


def test_d5_a_lost_answer_sent_again_at_the_ceiling_is_told_its_reference(
    client: TestClient, vault: Vault
) -> None:
    """Others at the same address reached the hour's ceiling after the first send: ``rate_limited``,
    the page renewed its proof, and the person's next send an hour later was a second case."""
    proof = _proof(client)
    first = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    assert first.status_code == 201, first.text
    while True:  # colleagues at the same address send garbage until the ceiling
        r = client.post("/advies/burger", data={**ADVICE, "uitdaging": "x", "teller": "1"}, files=EMPTY_FILE)
        if r.json()["reason"] == "rate_limited":
            break
    after = _counts(vault)

    again = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    _told_the_first(again, first.json()["reference"])
    assert _counts(vault) == after


def test_d5_a_forged_or_unsolved_proof_is_still_refused_before_any_receipt_is_read(
    client: TestClient, vault: Vault
) -> None:
    proof = _proof(client)
    first = client.post("/advies/burger", data={**ADVICE, **proof}, files=EMPTY_FILE)
    assert first.status_code == 201, first.text
    forged = {**proof, "uitdaging": proof["uitdaging"][:-2] + "AA"}
    r = client.post("/advies/burger", data={**ADVICE, **forged}, files=EMPTY_FILE)
    assert r.status_code in (400, 429), r.text
    assert "reference" not in r.json()


# --- P2: the service accepts a date of birth after today ------------------------------------------------


def _subjects(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Subject)) or 0)


def _tomorrow(vault: Vault) -> date:
    return local_date(vault.clock.now()) + timedelta(days=1)


def test_d19_d5_the_intake_service_refuses_a_subject_born_after_today(vault: Vault, world: World) -> None:
    submission = Submission(
        form=IntakeForm.REPORT_CITIZEN,
        answers=(("Waar maakt u zich zorgen over?", "Zorgen."),),
        reporter=ReporterFields(name="Jan Jansen", professional=False, contact="0612345678"),
        subjects=((Relation.CHILD, PersonFields(name="Piet de Vries", date_of_birth=_tomorrow(vault))),),
    )
    before = _counts(vault), _subjects(vault)
    with pytest.raises(InvalidInput):
        intake.receive(vault, intake.public_context(vault, "r"), submission)
    assert (_counts(vault), _subjects(vault)) == before


def test_d19_d3_the_intake_service_refuses_an_advice_client_born_after_today(
    vault: Vault, world: World
) -> None:
    submission = Submission(
        form=IntakeForm.ADVICE_PROFESSIONAL,
        answers=(("Waar maakt u zich zorgen over?", "Zorgen."),),
        reporter=ReporterFields(name="Dr. A. Arts", professional=True, contact="010-1234567"),
        client=PersonFields(name="Piet de Vries", date_of_birth=_tomorrow(vault)),
        meldcode_step=2,
    )
    before = _counts(vault)
    with pytest.raises(InvalidInput):
        intake.receive(vault, intake.public_context(vault, "r"), submission)
    assert _counts(vault) == before


# --- P4: a form sent again tells whether its attachment arrived the first time ----------------------------


def _multipart(fields: dict[str, str], file: bytes, *, complete: bool) -> tuple[bytes, str]:
    boundary = "s18reviewboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="bijlage"; filename="foto.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + file
    )
    if complete:
        parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _attachments(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.tag == str(AuditTag.INTAKE_ATTACHMENT_RECEIVED))
            )
            or 0
        )


def test_d5_a_form_sent_again_with_its_attachment_says_the_attachment_never_arrived(
    client: TestClient, vault: Vault
) -> None:
    """The connection dropped while the photo was uploading: the case was opened with the answers, the
    photo was lost, and the page never heard. Sent again with the photo, the answer said "Uw formulier
    was al goed ontvangen" and nothing of the photo: the person believed it had arrived."""
    proof = _proof(client)
    cut, kind = _multipart({**ADVICE, **proof}, b"\xff\xd8\xff" + b"x" * 1000, complete=False)
    first = client.post("/advies/burger", content=cut, headers={"Content-Type": kind})
    assert first.status_code == 201, first.text
    assert first.json()["attachment"] is False
    assert _attachments(vault) == 0

    whole, kind = _multipart({**ADVICE, **proof}, b"\xff\xd8\xff" + b"x" * 1000, complete=True)
    again = client.post("/advies/burger", content=whole, headers={"Content-Type": kind})
    _told_the_first(again, first.json()["reference"])
    body = again.json()
    assert body["attachment"] is False, body
    assert "bijlage" in body["message"], body
    assert "0800-2000" in body["message"]
    assert _attachments(vault) == 0


def test_d5_a_form_sent_again_whose_attachment_arrived_is_not_told_it_was_lost(
    client: TestClient, vault: Vault
) -> None:
    proof = _proof(client)
    whole, kind = _multipart({**ADVICE, **proof}, b"\xff\xd8\xff" + b"x" * 1000, complete=True)
    first = client.post("/advies/burger", content=whole, headers={"Content-Type": kind})
    assert first.status_code == 201, first.text
    assert first.json()["attachment"] is True
    again = client.post("/advies/burger", content=whole, headers={"Content-Type": kind})
    _told_the_first(again, first.json()["reference"])
    assert "bijlage niet" not in again.json()["message"]
    assert _attachments(vault) == 1
