"""D20 end to end: the colleague under review writes a break-the-glass justification; the privacy
officer downloads the Dutch CSV export from /fg/export. A bare CR (a row end in a spreadsheet) is
refused at the API and on the web form, and whatever the justification holds, no line of it reaches
the officer's spreadsheet as a live formula; the JSON export keeps the text as it was written."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import api_user
from tests.web.world import World, build_world, csrf_of, web_login
from vault.app import create_app
from vault.audit.break_glass import open_justification
from vault.context import FrozenClock
from vault.domain import Role
from vault.models import AuditEntry, BreakGlassAccess
from vault.runtime import Vault

PAYLOAD = "=cmd|' /C calc'!A0"
REASON = "Acuut gevaar voor het kind, dossier nu nodig"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _break_glass_counts(vault: Vault) -> tuple[int, int]:
    """(emergency accesses kept, break-the-glass audit entries)."""
    with vault.db.session() as session:
        accesses = session.scalar(select(func.count()).select_from(BreakGlassAccess))
        entries = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.break_glass))
    return accesses or 0, entries or 0


def _kept_justifications(vault: Vault) -> list[str | None]:
    with vault.db.session() as session:
        rows = session.execute(select(BreakGlassAccess.seq, BreakGlassAccess.justification_enc)).all()
    return [open_justification(vault, seq, sealed) for seq, sealed in rows]


def _api_view(vault: Vault, clock: FrozenClock, world: World, justification: str) -> int:
    client = TestClient(create_app(vault), base_url="https://testserver")
    colleague = api_user(client, vault, clock, Role.MEDEWERKER, team="Team Zuid")
    r = client.post(
        f"/api/v1/cases/{world.case_id}/view",
        headers=colleague.headers,
        json={"break_glass_justification": justification},
    )
    if r.status_code != 200:
        assert "break_glass_justification" in r.text
        assert "control characters" in r.text
        assert PAYLOAD not in r.text  # the reason never echoes the text
    status: int = r.status_code
    return status


def _officer_export(vault: Vault, clock: FrozenClock, world: World, fmt: str) -> str:
    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.officer, clock)
    form = web.get("/fg/export")
    assert form.status_code == 200, form.text
    r = web.post("/fg/export", data={"format": fmt, "csrf_token": csrf_of(form.text)})
    assert r.status_code == 200, r.text[:500]
    text: str = r.content.decode("utf-8")
    return text.lstrip("\ufeff")


def _live_lines(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    return [line for row in rows[1:] for cell in row for line in cell.split("\n") if line.startswith(FORMULA)]


def test_d20_fg_csv_export_carries_no_live_formula_from_a_justification(
    vault: Vault, clock: FrozenClock
) -> None:
    """The reviewer's reproduction: "…\\r=cmd…" sent through the API. Whatever the API answers, the
    officer's spreadsheet runs no formula; the API refuses the bare CR (422) and keeps nothing."""
    world = build_world(vault)
    status = _api_view(vault, clock, world, f"{REASON}\r{PAYLOAD}")
    live = _live_lines(_officer_export(vault, clock, world, "csv"))
    assert live == [], f"a spreadsheet runs these cells of the export as formulas: {live}"
    assert status == 422
    assert _break_glass_counts(vault) == (0, 0)


def test_d20_a_formula_after_a_line_break_is_defused_in_csv_and_kept_in_json(
    vault: Vault, clock: FrozenClock
) -> None:
    """A line feed is allowed in a justification; the line after it is defused in the CSV cell (a
    spreadsheet may start a row there), while the JSON export holds the text byte for byte."""
    world = build_world(vault)
    justification = f"{REASON}\n{PAYLOAD}"
    assert _api_view(vault, clock, world, justification) == 200

    text = _officer_export(vault, clock, world, "csv")
    assert REASON in text
    assert _live_lines(text) == []
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert f"{REASON}\n'{PAYLOAD}" in [cell for row in rows for cell in row]
    entries = json.loads(_officer_export(vault, clock, world, "json"))
    assert justification in [entry["break_glass_justification"] for entry in entries]


def test_d20_api_takes_a_crlf_as_a_line_break(vault: Vault, clock: FrozenClock) -> None:
    """A CRLF is how many clients write a line break: kept as a line feed, never as a CR."""
    world = build_world(vault)
    assert _api_view(vault, clock, world, f"{REASON}\r\nTeam Zuid onbereikbaar") == 200
    assert _kept_justifications(vault) == [f"{REASON}\nTeam Zuid onbereikbaar"]


def test_d20_web_form_refuses_a_bare_cr_in_dutch_and_keeps_the_rest(vault: Vault, clock: FrozenClock) -> None:
    """The web form: a control character gets a Dutch error (400), nothing is read or kept, and the
    rest of what was typed comes back in the field; a browser's CRLF line break is accepted."""
    world = build_world(vault)
    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.outsider, clock)
    path = f"/zaken/{world.case_id}/noodtoegang"
    r = web.post(
        path, data={"csrf_token": csrf_of(web.get(path).text), "justification": f"{REASON}\r{PAYLOAD}"}
    )
    assert r.status_code == 400
    assert "stuurtekens" in r.text
    kept = PAYLOAD.replace("'", "&#39;")
    assert f">{REASON}{kept}</textarea>" in r.text
    assert "\r" not in r.text.split("<textarea", 1)[1].split("</textarea>", 1)[0]
    assert _break_glass_counts(vault) == (0, 0)

    r = web.post(path, data={"csrf_token": csrf_of(r.text), "justification": f"{REASON}\r\nTeam Zuid weg"})
    assert r.status_code == 200, r.text[:300]
    assert _kept_justifications(vault) == [f"{REASON}\nTeam Zuid weg"]


def test_d20_a_bidi_override_is_refused_so_the_officer_reads_what_was_written(
    vault: Vault, clock: FrozenClock
) -> None:
    """A right-to-left override shows the officer "…kind, zie melding" where the colleague typed
    something else in another order: the API refuses it (422), the web form answers in Dutch and gives
    back the rest, and nothing is read or kept."""
    world = build_world(vault)
    for control in ("\u202e", "\u2066", "\u200f"):
        assert _api_view(vault, clock, world, f"{REASON} {control}gnidlem eiz") == 422
    assert _break_glass_counts(vault) == (0, 0)

    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.outsider, clock)
    path = f"/zaken/{world.case_id}/noodtoegang"
    r = web.post(
        path, data={"csrf_token": csrf_of(web.get(path).text), "justification": f"{REASON} \u202egnidlem eiz"}
    )
    assert r.status_code == 400
    assert "stuurtekens" in r.text
    assert f">{REASON} gnidlem eiz</textarea>" in r.text
    assert _break_glass_counts(vault) == (0, 0)
