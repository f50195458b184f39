"""D20/D21: the privacy officer's review of an emergency access covers what the officer was shown,
"nader onderzoek nodig" is not a verdict, and each read says which category it opened (review round
of session 15: B2, B4, B9)."""

from __future__ import annotations

import json
import re
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user
from tests.web.world import OTHER_TEAM, TEAM, World, _person, build_world, csrf_of, web_login
from vault.app import create_app
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, Role
from vault.errors import Conflict
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.audit_reports import ReviewOutcome, break_glass_list, review_break_glass
from vault.services.case_view import view_case
from vault.services.documents import read_document, upload_document

WHY = "Politie belt: acute zorgen over de kinderen in dit gezin, team niet bereikbaar"


def _ctx(vault: Vault, user_id: str, role: Role, session_id: str | None = "sessie-van-joost") -> Context:
    return Context(
        actor_id=user_id,
        role=str(role),
        access_point="web",
        session_id=session_id,
        second_factor_verified=True,
        factor_checked_at=vault.clock.now(),
        clock=vault.clock,
    )


def _flagged(vault: Vault) -> list[int]:
    with vault.db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry.seq).where(AuditEntry.break_glass.is_(True)).order_by(AuditEntry.seq)
            )
        )


def _emergency_read(vault: Vault, world: World) -> None:
    view_case(
        vault,
        _ctx(vault, world.outsider.user_id, Role.MEDEWERKER),
        world.case_id,
        break_glass_justification=WHY,
    )


def _to_review(vault: Vault, world: World) -> list[dict[str, object]]:
    officer = _ctx(vault, world.officer.user_id, Role.PRIVACY_OFFICER, None)
    with vault.db.session() as session:
        return list(break_glass_list(session, vault, officer, unreviewed_only=True)["entries"])


def test_d20_a_verdict_covers_only_the_reads_the_officer_was_shown(vault: Vault, clock: FrozenClock) -> None:
    """Reads the colleague makes while the officer has the page open become an access of their own,
    still to be reviewed; the verdict covers the reads the page listed (its ``last_read``)."""
    world = build_world(vault)
    _emergency_read(vault, world)
    shown = _flagged(vault)
    fg = TestClient(create_app(vault), base_url="https://testserver")
    web_login(fg, world.officer, clock)
    page = fg.get("/fg/noodtoegang?toon=te-beoordelen")
    access = shown[0]
    section = page.text.split(f'id="bg-{access}"', 1)[1].split("</section>", 1)[0]
    last_read = re.search(r'name="last_read" value="(\d+)"', section)
    assert last_read
    assert int(last_read.group(1)) == shown[-1]

    clock.advance(minutes=2)  # the colleague goes on reading, same session, same text
    _emergency_read(vault, world)
    unseen = [seq for seq in _flagged(vault) if seq not in shown]
    assert unseen

    clock.advance(minutes=1)
    form = {"seq": str(access), "outcome": "justified", "comment": "", "csrf_token": csrf_of(page.text)}
    r = fg.post("/fg/noodtoegang", data={**form, "last_read": last_read.group(1)}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]

    todo = _to_review(vault, world)
    assert [item["access"] for item in todo] == [unseen[0]]
    assert [read["seq"] for read in todo[0]["reads"]] == unseen  # type: ignore[attr-defined]
    assert todo[0]["justification"] == WHY
    with vault.db.session() as session:
        details = session.scalars(
            select(AuditEntry.details).where(AuditEntry.tag == str(AuditTag.AUDIT_BREAK_GLASS_REVIEWED))
        ).all()
    assert [json.loads(d).get("later_reads_access") for d in details] == [unseen[0]]


def test_d20_a_review_without_the_last_read_shown_or_with_a_foreign_one_is_refused(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    _emergency_read(vault, world)
    access = _flagged(vault)[0]
    fg = TestClient(create_app(vault), base_url="https://testserver")
    web_login(fg, world.officer, clock)
    page = fg.get("/fg/noodtoegang")
    form = {"seq": str(access), "outcome": "justified", "csrf_token": csrf_of(page.text)}
    missing = fg.post("/fg/noodtoegang", data=form)
    assert missing.status_code == 400
    assert "Laad de pagina opnieuw" in missing.text
    foreign = fg.post("/fg/noodtoegang", data={**form, "last_read": "1"})
    assert foreign.status_code == 409
    assert "Uw oordeel is niet vastgelegd" in foreign.text
    assert [item["access"] for item in _to_review(vault, world)] == [access]  # nothing recorded

    client = TestClient(create_app(vault), base_url="https://testserver")
    api = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    url = f"/api/v1/audit/break-glass/{access}/review"
    assert client.post(url, headers=api.headers, json={"outcome": "justified"}).status_code == 422
    r = client.post(url, headers=api.headers, json={"outcome": "justified", "through_seq": access})
    assert r.status_code == 200, r.text


def test_d20_needs_followup_stays_on_the_work_list_until_its_final_verdict(vault: Vault) -> None:
    world = build_world(vault)
    _emergency_read(vault, world)
    access = _flagged(vault)[0]
    fg = _ctx(vault, world.officer.user_id, Role.PRIVACY_OFFICER, None)
    with vault.db.session() as session:
        review_break_glass(
            session, vault, fg, access, ReviewOutcome.NEEDS_FOLLOWUP, "Navragen bij teamleider"
        )
    vault.clock.advance(days=3)  # type: ignore[attr-defined]
    todo = _to_review(vault, world)
    assert [item["access"] for item in todo] == [access]
    assert todo[0]["reviewed"] is False
    with vault.db.session() as session, pytest.raises(Conflict):
        review_break_glass(session, vault, fg, access, ReviewOutcome.NEEDS_FOLLOWUP)
    with vault.db.session() as session:
        review_break_glass(session, vault, fg, access, ReviewOutcome.UNJUSTIFIED, "Geen noodsituatie")
    assert _to_review(vault, world) == []
    with vault.db.session() as session:
        listed = break_glass_list(session, vault, fg)["entries"][0]
        with pytest.raises(Conflict):
            review_break_glass(session, vault, fg, access, ReviewOutcome.JUSTIFIED)
    assert listed["reviewed"] is True
    assert listed["review"]["outcome"] == "needs_followup"
    assert listed["review"]["comment"] == "Navragen bij teamleider"  # the first review is kept
    assert listed["review"]["final"]["outcome"] == "unjustified"
    assert listed["review"]["final"]["comment"] == "Geen noodsituatie"


def test_d20_the_review_page_shows_the_followup_and_asks_only_the_final_verdict(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    _emergency_read(vault, world)
    access = _flagged(vault)[0]
    with vault.db.session() as session:
        review_break_glass(
            session,
            vault,
            _ctx(vault, world.officer.user_id, Role.PRIVACY_OFFICER, None),
            access,
            ReviewOutcome.NEEDS_FOLLOWUP,
        )
    fg = TestClient(create_app(vault), base_url="https://testserver")
    web_login(fg, world.officer, clock)
    page = fg.get("/fg/noodtoegang?toon=te-beoordelen")
    section = page.text.split(f'id="bg-{access}"', 1)[1].split("</section>", 1)[0]
    assert "Eerste oordeel" in section
    assert "Uw eindoordeel over noodtoegang" in section
    assert 'value="needs_followup"' not in section


def test_d20_the_review_page_says_which_category_an_emergency_read_opened(
    vault: Vault, clock: FrozenClock
) -> None:
    world = build_world(vault)
    own_doctor = _person(vault, "arts-noord", Role.VERTROUWENSARTS, team=TEAM)
    other_doctor = _person(vault, "arts-zuid", Role.VERTROUWENSARTS, team=OTHER_TEAM)
    medical = upload_document(
        vault,
        _ctx(vault, own_doctor.user_id, Role.VERTROUWENSARTS),
        case_id=world.case_id,
        category=Category.MEDICAL,
        title="Letselverklaring",
        filename="letsel.txt",
        content_type="text/plain",
        chunks=[b"medisch"],
    ).document_id
    opened = read_document(
        vault, _ctx(vault, other_doctor.user_id, Role.VERTROUWENSARTS), medical, break_glass_justification=WHY
    )
    assert b"".join(opened.chunks) == b"medisch"
    access = _flagged(vault)[0]
    assert _to_review(vault, world)[0]["reads"][0]["category"] == "medical"  # type: ignore[index]
    fg = TestClient(create_app(vault), base_url="https://testserver")
    web_login(fg, world.officer, clock)
    page = fg.get("/fg/noodtoegang?toon=alle")
    section = page.text.split(f'id="bg-{access}"', 1)[1].split("</section>", 1)[0]
    reads = " ".join(re.sub(r"<[^>]+>", " ", section.split("Wat is ingezien", 1)[1]).split())
    assert "Medisch (alleen vertrouwensarts)" in reads
    assert "Letselverklaring" not in section  # the title is free text: never on the officer's page


def test_d20_two_officers_reviewing_one_access_at_once_get_one_verdict_and_one_conflict(
    vault: Vault,
) -> None:
    world = build_world(vault)
    _emergency_read(vault, world)
    access = _flagged(vault)[0]
    second = _person(vault, "fg-twee", Role.PRIVACY_OFFICER)
    outcomes: list[str] = []

    def review(user_id: str) -> None:
        ctx = _ctx(vault, user_id, Role.PRIVACY_OFFICER, None)
        try:
            with vault.db.session() as session:
                review_break_glass(session, vault, ctx, access, ReviewOutcome.JUSTIFIED, through_seq=access)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=review, args=(u,)) for u in (world.officer.user_id, second.user_id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "ok"]
