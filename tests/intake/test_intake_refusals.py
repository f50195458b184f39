"""Abuse resistance of the public forms without outside services, and the public pages' headers.

Over-limit bodies, a filled honeypot, a missing / forged / wrong / replayed proof of work and a burst
from one address are refused with a Dutch message that says what to do, and create no case.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.world import World
from vault.app import create_app
from vault.domain import AuditTag, CaseKind
from vault.models import AuditEntry, Case
from vault.runtime import Vault
from vault.services.pow import solve

PUBLIC_PAGES = [
    "/melden",
    "/advies",
    "/melden/professional",
    "/melden/burger",
    "/advies/professional",
    "/advies/burger",
]


@pytest.fixture
def client(vault: Vault, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(vault)) as c:
        yield c


def _cases(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def _challenge(client: TestClient) -> tuple[str, int]:
    data = client.get("/formulier/uitdaging").json()
    return data["challenge"], data["bits"]


def _advice(client: TestClient, **overrides: str) -> dict[str, str]:
    token, bits = _challenge(client)
    fields = {"uitdaging": token, "teller": solve(token, bits), "website": "", "zorgen": "Ik twijfel."}
    fields.update(overrides)
    return fields


def _post(client: TestClient, fields: dict[str, str], path: str = "/advies/burger") -> object:
    files = {"bijlage": ("", b"", "application/octet-stream")}
    return client.post(path, data=fields, files=files)


def test_public_pages_send_strict_headers_and_no_cookie(client: TestClient) -> None:
    for path in [*PUBLIC_PAGES, "/formulier/uitdaging", "/static/public.js", "/static/public.css"]:
        r = client.get(path)
        assert r.status_code == 200, path
        assert "set-cookie" not in r.headers, path
        assert r.headers["cache-control"] == "no-store", path
        assert r.headers["referrer-policy"] == "no-referrer", path
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp, path
        assert "http" not in csp, path
        assert "unsafe" not in csp, path
    page = client.get("/melden/burger").text
    assert "Sluit deze website meteen" in page
    assert "http://" not in page.replace(client.app.state.vault.settings.quick_exit_url, "")  # type: ignore[attr-defined]
    assert "https://" not in page


def test_d2_anonymous_advice_is_accepted_with_a_reference_and_no_echo(
    client: TestClient, vault: Vault
) -> None:
    r = _post(client, _advice(client, zorgen="Kanarie-echo-1234"))
    assert r.status_code == 201, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert body["ok"] is True
    assert body["reference"].startswith("VT-")
    assert "Kanarie" not in r.text  # type: ignore[attr-defined]
    with vault.db.session() as session:
        kinds = [c.kind for c in session.scalars(select(Case))]
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == str(AuditTag.INTAKE_SUBMISSION_RECEIVED))
        ).one()
        assert entry.actor_id == "public_form"
        assert entry.actor_role == "public_form"
        assert entry.access_point == "public_form"
        assert "testclient" not in (entry.details or "")
    assert kinds.count(str(CaseKind.ADVICE_HELP_SEEKER)) == 1  # (the world already holds one report)


@pytest.mark.parametrize(
    ("overrides", "reason", "words"),
    [
        ({"website": "http://spam.example"}, "honeypot", "0800-2000"),
        # the page renews the check after a refusal: sending again loses nothing (a reload would)
        ({"uitdaging": "", "teller": ""}, "pow_missing", "wat u heeft ingevuld, blijft staan"),
        ({"teller": "not-a-number"}, "pow_invalid", "wat u heeft ingevuld, blijft staan"),
        ({"uitdaging": "v1.abc.9999999999.12.deadbeef"}, "pow_invalid", "beveiligingscontrole"),
    ],
)
def test_refused_submissions_create_no_case(
    client: TestClient, vault: Vault, overrides: dict[str, str], reason: str, words: str
) -> None:
    before = _cases(vault)
    r = _post(client, _advice(client, **overrides))
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert r.json()["reason"] == reason  # type: ignore[attr-defined]
    assert words in r.json()["message"]  # type: ignore[attr-defined]
    assert "0800-2000" in r.json()["message"]  # type: ignore[attr-defined]
    assert _cases(vault) == before


def test_a_wrong_counter_is_refused(client: TestClient, vault: Vault) -> None:
    token, bits = _challenge(client)
    good = int(solve(token, bits))
    wrong = next(str(c) for c in range(good + 1, good + 10_000) if c != good and str(c) != solve(token, bits))
    from vault.services.pow import _work, leading_zero_bits

    while leading_zero_bits(_work(token, wrong)) >= bits:
        wrong = str(int(wrong) + 1)
    before = _cases(vault)
    r = _post(client, _advice(client, uitdaging=token, teller=wrong))
    assert r.json()["reason"] == "pow_wrong"  # type: ignore[attr-defined]
    assert _cases(vault) == before


def test_d5_a_replayed_challenge_opens_no_second_case_and_is_told_the_first(
    client: TestClient, vault: Vault
) -> None:
    fields = _advice(client)
    first = _post(client, fields)
    assert first.status_code == 201  # type: ignore[attr-defined]
    before = _cases(vault)
    r = _post(client, fields)
    assert r.status_code == 200  # type: ignore[attr-defined]
    assert r.json()["reference"] == first.json()["reference"]  # type: ignore[attr-defined]
    assert r.json()["again"] is True  # type: ignore[attr-defined]
    assert _cases(vault) == before


def test_an_expired_challenge_is_refused(client: TestClient, vault: Vault, clock: object) -> None:
    fields = _advice(client)
    clock.advance(minutes=vault.settings.intake_challenge_minutes + 1)  # type: ignore[attr-defined]
    r = _post(client, fields)
    assert r.json()["reason"] == "pow_expired"  # type: ignore[attr-defined]


def test_over_limit_submissions_are_refused_before_reading(client: TestClient, vault: Vault) -> None:
    before = _cases(vault)
    fields = _advice(client)
    big = b"x" * (vault.settings.intake_max_bytes + 1)
    r = client.post(
        "/advies/burger", data=fields, files={"bijlage": ("groot.bin", big, "application/octet-stream")}
    )
    assert r.status_code == 413
    assert r.json()["reason"] == "too_large"
    assert "te groot" in r.json()["message"]
    assert "0800-2000" in r.json()["message"]
    # An over-long text field is refused too (the body's own field limits).
    r = _post(client, _advice(client, zorgen="y" * 30_000))
    assert r.status_code == 400  # type: ignore[attr-defined]
    assert _cases(vault) == before


def test_a_burst_from_one_address_is_refused(client: TestClient, vault: Vault) -> None:
    before = _cases(vault)
    ceiling = vault.settings.intake_ceiling_per_hour
    bot = {"uitdaging": "x", "teller": "0", "website": "bot", "zorgen": "spam"}
    results = [_post(client, bot).status_code for _ in range(ceiling)]  # type: ignore[attr-defined]
    assert set(results) == {400}  # honeypot refusals count towards the ceiling too
    r = _post(client, _advice(client))
    assert r.status_code == 429  # type: ignore[attr-defined]
    assert r.json()["reason"] == "rate_limited"  # type: ignore[attr-defined]
    assert "te veel formulieren" in r.json()["message"]  # type: ignore[attr-defined]
    assert _cases(vault) == before
    # Addresses are stored only as keyed hashes.
    from vault.models import AuthAttempt

    with vault.db.session() as session:
        keys = {
            a.client_key for a in session.scalars(select(AuthAttempt).where(AuthAttempt.kind == "intake"))
        }
    assert keys
    assert all(k is not None and len(k) == 64 and "testclient" not in k for k in keys)


def test_field_problems_are_named_in_dutch_without_echo(client: TestClient, vault: Vault) -> None:
    before = _cases(vault)
    r = _post(client, _advice(client, zorgen="", kinderen="Kanarie-keuze"), path="/advies/burger")
    body = r.json()  # type: ignore[attr-defined]
    assert body["reason"] == "invalid"
    assert any("Vul in" in p for p in body["problems"])
    assert "Kanarie" not in r.text  # type: ignore[attr-defined]
    assert _cases(vault) == before
