"""Session 17 review of the privacy officer's searches, reports and exports (web): each test failed on
the code before its fix. Real SQLite, real crypto, real Casbin; the frozen clock of the other tests."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import pdf_text
from tests.web.world import TEAM, World, csrf_of, web_login
from vault.app import create_app
from vault.audit.log import record
from vault.audit.search import MAX_MATCHES
from vault.auth import AuthConfig
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Role, reference_of
from vault.models import AuditEntry, Case
from vault.runtime import Vault
from vault.services import accounts
from vault.transaction import transaction


@pytest.fixture
def fg(vault: Vault, world: World, clock: FrozenClock) -> tuple[TestClient, str]:
    client = TestClient(create_app(vault))
    web_login(client, world.officer, clock)
    return client, csrf_of(client.get("/eigen-gegevens").text)


def _post(client: TestClient, path: str, token: str, **fields: str) -> tuple[int, str]:
    r = client.post(path, data={**fields, "csrf_token": token}, follow_redirects=False)
    return r.status_code, r.text


def _last(vault: Vault, tag: AuditTag) -> AuditEntry:
    with vault.db.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.tag == tag.value).order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None
    return entry


def _colleagues(vault: Vault, count: int) -> list[str]:
    """``count`` accounts whose usernames share the beginning ``mw-`` (a large region has hundreds)."""
    system = Context.system(access_point="test", clock=vault.clock)
    auth = AuthConfig.from_vault(vault)
    ids = []
    with transaction(vault.db) as session:
        for n in range(count):
            created = accounts.create_user(
                session,
                system,
                auth,
                username=f"mw-{n:03d}",
                role=str(Role.MEDEWERKER),
                team=TEAM,
                password="x" * 16,
            )
            ids.append(created.user_id)
    return ids


def _act_as(vault: Vault, user_id: str, *, case_id: str | None = None) -> None:
    ctx = Context(actor_id=user_id, role=str(Role.MEDEWERKER), access_point="web", clock=vault.clock)
    with transaction(vault.db) as session:
        record(
            session, ctx, AuditTag.DOSSIER_CASE_READ, case_id=case_id, object_type="case", object_id=case_id
        )


def test_s17_a_username_beginning_that_matches_more_accounts_than_searched_is_never_cut_silently(
    vault: Vault, world: World, fg: tuple[TestClient, str]
) -> None:
    """F1: "mw-" matched 51 accounts; the search and the export took the first 50 and said nothing, so
    the 51st colleague's reads were missing from what the officer took for every match."""
    ids = _colleagues(vault, MAX_MATCHES + 1)
    _act_as(vault, ids[-1], case_id=world.case_id)
    client, token = fg
    status, page = _post(client, "/fg/zoeken", token, medewerker="mw-")
    if status == 200:
        assert f"mw-{MAX_MATCHES:03d}" in page, "the last matching colleague's read is left out unsaid"
    else:
        assert status == 400
        assert "meer dan" in page
        assert "gebruikersnaam" in page
    r = client.post("/fg/export", data={"medewerker": "mw-", "format": "json", "csrf_token": token})
    if r.status_code == 200:
        assert ids[-1] in {row["actor_id"] for row in json.loads(r.text)}
    else:
        assert r.status_code == 400
        assert "meer dan" in r.text


def _cases_sharing_a_beginning(vault: Vault, count: int) -> list[str]:
    """``count`` cases whose references share the beginning VT-AB00 (some 13,000 cases have two)."""
    now = vault.clock.now()
    ids = [f"ab00{n:04x}-0000-4000-8000-000000000000" for n in range(count)]
    with transaction(vault.db) as session:
        for case_id in ids:
            session.add(
                Case(
                    id=case_id,
                    kind="report",
                    legal_basis="wmo-5.1.6",
                    created_at=now,
                    last_changed_at=now,
                    destroy_after=now + timedelta(days=7300),
                )
            )
    return ids


def test_s17_a_reference_beginning_that_matches_more_cases_than_searched_is_never_cut_silently(
    vault: Vault, world: World, fg: tuple[TestClient, str]
) -> None:
    """F1: the same for the case reference in the search, the export and the access report's form."""
    cases = _cases_sharing_a_beginning(vault, MAX_MATCHES + 1)
    _act_as(vault, world.outsider.user_id, case_id=cases[-1])
    client, token = fg
    status, page = _post(client, "/fg/zoeken", token, zaak="VT-AB00")
    if status == 200:
        assert reference_of(cases[-1]) in page, "the last matching case's read is left out unsaid"
    else:
        assert status == 400
        assert "meer dan" in page
        assert "zaaknummer" in page
    r = client.post("/fg/export", data={"zaak": "VT-AB00", "format": "json", "csrf_token": token})
    if r.status_code == 200:
        assert cases[-1] in {row["case_id"] for row in json.loads(r.text)}
    else:
        assert r.status_code == 400
        assert "meer dan" in r.text
    status, page = _post(client, "/fg/toegang", token, zaak="VT-AB00")
    assert reference_of(cases[-1]) in page or ("meer dan" in page and status == 400)


def test_s17_a_period_that_ends_before_it_begins_is_refused_not_answered_with_nothing(
    vault: Vault, world: World, fg: tuple[TestClient, str]
) -> None:
    """F2: "van 10-03-2026 tot en met 01-03-2026" answered "Niets gevonden" (and an empty export, and an
    employee with no actions): the officer reads that nobody did anything, from a typing slip."""
    client, token = fg
    swapped = {"from": "10-03-2026", "to": "01-03-2026"}
    for path, extra in (("/fg/zoeken", {}), ("/fg/medewerker", {"medewerker": world.worker.username})):
        status, page = _post(client, path, token, **swapped, **extra)
        assert status == 400, path
        assert "Niets gevonden" not in page
        assert "Geen handelingen" not in page
        assert "ligt vóór de datum" in page
    before = _last(vault, AuditTag.AUDIT_LOG_EXPORTED).seq if _exports(vault) else 0
    r = client.post("/fg/export", data={**swapped, "format": "csv", "csrf_token": token})
    assert r.status_code == 400
    assert not _exports(vault) or _last(vault, AuditTag.AUDIT_LOG_EXPORTED).seq == before


def _exports(vault: Vault) -> bool:
    with vault.db.session() as session:
        exported = select(AuditEntry.seq).where(AuditEntry.tag == AuditTag.AUDIT_LOG_EXPORTED.value)
        return session.scalar(exported) is not None


def test_d16_the_export_entry_says_which_decision_and_emergency_filter_were_exported(
    vault: Vault, world: World, fg: tuple[TestClient, str]
) -> None:
    """F3: an export of only the refusals, or only the emergency reads, was recorded like an export of
    everything (the search entry named both filters, the export entry neither)."""
    client, token = fg
    r = client.post(
        "/fg/export", data={"decision": "deny", "break_glass": "ja", "format": "csv", "csrf_token": token}
    )
    assert r.status_code == 200
    details = json.loads(_last(vault, AuditTag.AUDIT_LOG_EXPORTED).details)
    assert details.get("decision_filter") == "deny"
    assert details.get("break_glass_filter") is True
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "Nummer"


NO_CASE = "0badcafe-0000-4000-8000-000000000000"  # no case has this id, no entry names it


def _count(vault: Vault, tag: AuditTag) -> int:
    with vault.db.session() as session:
        return len(list(session.scalars(select(AuditEntry.seq).where(AuditEntry.tag == tag.value))))


def test_d15_a_case_that_does_not_exist_gets_no_report_no_pdf_and_no_signed_bundle(
    vault: Vault, world: World, fg: tuple[TestClient, str]
) -> None:
    """F4: a case id that no case has (a mistyped or outdated link) gave a report "Geen vastleggingen",
    a PDF for the family saying "Niemand" had seen their dossier, and a signed, witnessed proof bundle
    of nothing — each recorded as a report on a case that does not exist."""
    client, _ = fg
    headers = {"Sec-Fetch-Site": "same-origin"}
    viewed, issued = (
        _count(vault, AuditTag.AUDIT_ACCESS_REPORT_VIEWED),
        _count(vault, AuditTag.AUDIT_PROOF_ISSUED),
    )
    for path in ("", "/pdf", "/bewijs", "/bewijs?volledig=ja"):
        r = client.get(f"/fg/toegang/{NO_CASE}{path}", headers=headers)
        assert r.status_code == 404, path
        assert "application/pdf" not in r.headers["content-type"], path
        assert NO_CASE not in r.text
    assert _count(vault, AuditTag.AUDIT_ACCESS_REPORT_VIEWED) == viewed
    assert _count(vault, AuditTag.AUDIT_PROOF_ISSUED) == issued
    # A destroyed case, or an id only refused attempts name, still has its report.
    assert client.get(f"/fg/toegang/{world.case_id}").status_code == 200


def test_d16_the_officer_finds_what_a_cli_operator_without_an_account_name_did(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    """F5: an operator whose uid has no account (a container) is recorded as ``os:uid:<n>``; the
    officer's search and export refused that actor id (422), so their actions could not be singled out."""
    from tests.helpers import api_user

    operator = Context(actor_id="os:uid:1000870000", role="operator", access_point="cli", clock=clock)
    with transaction(vault.db) as session:
        record(session, operator, AuditTag.RIGHTS_CERTIFICATE_READ, case_id=world.case_id, object_type="case")
    with TestClient(create_app(vault)) as client:
        officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
        r = client.get(
            "/api/v1/audit/entries",
            params={"actor_id": "os:uid:1000870000"},
            headers={"Authorization": f"Bearer {officer.token}"},
        )
    assert r.status_code == 200, r.text
    assert [e["actor_id"] for e in r.json()["entries"]] == ["os:uid:1000870000"]


def test_d15_the_officers_pages_name_a_cli_operator_and_the_system_not_an_unknown_user(
    vault: Vault, world: World, fg: tuple[TestClient, str]
) -> None:
    """F6: the search page, the employee page's table and the access report said "onbekende gebruiker"
    for the vault itself, the public form and a CLI operator: the officer could not tell an operator's
    read of a destruction certificate from a deleted account's."""
    operator = Context(actor_id="os:beheerder", role="operator", access_point="cli", clock=world_clock(vault))
    with transaction(vault.db) as session:
        record(session, operator, AuditTag.RIGHTS_CERTIFICATE_READ, case_id=world.case_id, object_type="case")
    client, token = fg
    status, page = _post(client, "/fg/zoeken", token, zaak=reference_of(world.case_id))
    assert status == 200
    assert "onbekende gebruiker" not in page
    assert "beheerder" in page
    report = client.get(f"/fg/toegang/{world.case_id}").text
    assert "onbekende gebruiker" not in report
    assert "beheerder" in report
    # The family's PDF: a person at the server's command line, not "het systeem (… automatische taak)".
    pdf = " ".join(pdf_text(client.get(f"/fg/toegang/{world.case_id}/pdf").content).split())
    assert "serverbeheer" in pdf
    assert "automatische taak) (Beheerder (opdrachtregel)" not in pdf


def world_clock(vault: Vault) -> FrozenClock:
    assert isinstance(vault.clock, FrozenClock)
    return vault.clock


def _open_deleted_files_holding(needle: bytes) -> list[str]:
    """Files this process holds open that are no longer in any folder (a spooled temporary file) and
    hold ``needle`` on disk."""
    found = []
    fds = Path("/proc/self/fd")
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if not target.endswith("(deleted)") or not target.startswith("/"):
            continue
        try:
            if needle in (fds / fd.name).read_bytes():
                found.append(target)
        except OSError:
            continue
    return found


def test_d20_the_officers_large_export_never_puts_a_justification_on_disk_in_the_clear(
    vault: Vault, world: World, clock: FrozenClock
) -> None:
    """F7: the web export was spooled to a temporary file once larger than 8 MiB, with every
    break-the-glass justification in it in plain text (names of a family, a neighbour) — on the
    server's disk, while the log and the database keep it sealed (D18, D20)."""
    from vault.audit.export import ExportFormat
    from vault.audit.queries import EntryFilter
    from vault.services.case_view import view_case
    from vault.web.routes import privacy

    canary = "Kanarie Buurvrouw Pietersen belde de politie"
    outsider = Context(
        actor_id=world.outsider.user_id,
        role=str(Role.MEDEWERKER),
        access_point="web",
        session_id="s17-spool",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    view_case(vault, outsider, world.case_id, break_glass_justification=f"Acuut: {canary}, team onbereikbaar")
    system = Context.system(access_point="test", clock=clock)
    with transaction(vault.db) as session:  # a busy day's log: well over the 8 MiB kept in memory
        for _ in range(9000):
            padding = {f"k{i}": "0" * 36 for i in range(8)}
            record(session, system, AuditTag.SYSTEM_POLICY_RELOAD, details=padding)
    officer = Context(
        actor_id=world.officer.user_id,
        role=str(Role.PRIVACY_OFFICER),
        access_point="web",
        second_factor_verified=True,
        factor_checked_at=clock.now(),
        clock=clock,
    )
    chunks = privacy._spooled(vault, SimpleNamespace(ctx=officer), EntryFilter(), ExportFormat.JSON)  # type: ignore[arg-type]
    try:
        first = next(chunks)
        assert _open_deleted_files_holding(canary.encode()) == []
        body = first + b"".join(chunks)
    finally:
        chunks.close()  # type: ignore[attr-defined]
    assert canary.encode() in body  # the officer's export still carries it
    assert body.count(b'"seq"') >= 9000


def test_d16_the_officers_search_by_reference_or_username_records_whom_it_was_about(
    vault: Vault, world: World, fg: tuple[TestClient, str]
) -> None:
    """F8: the officer's web search, employee overview and export recorded only how many cases or
    accounts the typed reference or username matched — not which: an officer reading one family's
    log, or one colleague's, left an entry that named neither (the API's search names its case)."""
    client, token = fg
    assert _post(client, "/fg/zoeken", token, zaak=reference_of(world.case_id))[0] == 200
    entry = _last(vault, AuditTag.AUDIT_LOG_SEARCHED)
    assert world.case_id in json.loads(entry.details).values()
    for path in ("/fg/zoeken", "/fg/medewerker"):
        assert _post(client, path, token, medewerker=world.worker.username)[0] == 200
        details = json.loads(_last(vault, AuditTag.AUDIT_LOG_SEARCHED).details)
        assert world.worker.user_id in details.values(), path
    r = client.post(
        "/fg/export", data={"medewerker": world.worker.username, "format": "csv", "csrf_token": token}
    )
    assert r.status_code == 200
    assert world.worker.user_id in json.loads(_last(vault, AuditTag.AUDIT_LOG_EXPORTED).details).values()


def test_s17_the_access_report_shows_no_raw_action_code(
    vault: Vault, world: World, fg: tuple[TestClient, str]
) -> None:
    """F9: each action of the access report carried its raw code as a tooltip (``dossier:case:read``):
    pages show Dutch labels, never codes."""
    client, _ = fg
    page = client.get(f"/fg/toegang/{world.case_id}").text
    assert "Zaak aangemaakt" in page or "Zaak bekeken" in page or "Document" in page
    codes = [str(tag) for tag in AuditTag if f'"{tag}"' in page or f">{tag}<" in page]
    assert codes == []
