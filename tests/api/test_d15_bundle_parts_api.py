"""D15: the API tells a client where each part of a case's proof bundles begins, so that it can fetch
every part without paging blindly: ``GET /api/v1/audit/cases/{case}/access-report?bundle_parts=true``
adds ``bundle_parts`` — ``access_report`` and ``subject_overview``, each a list of ``{number,
after_seq, entries, first_at, last_at}`` — to the report. It is part of the report and recorded by
the report's own ``audit:access-report:viewed`` entry (no bundle is issued for it); the privacy
officer only (D16: anyone else is refused, and the refusal recorded). The subject's parts hold only
what their overview shows (D8, D13)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import api_user
from tests.web.busy_case import assert_parts_chain, bundle_seqs, mixed_busy_case, reference_parts
from tests.web.world import build_world
from vault.audit import queries as audit_repo
from vault.context import FrozenClock
from vault.domain import AuditTag, Role
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.access_overview import subject_report
from vault.transaction import transaction


def _count(vault: Vault, tag: AuditTag) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).where(AuditEntry.tag == str(tag))) or 0)


def _as_tuples(parts: list[dict[str, Any]]) -> list[tuple[int, int, datetime, datetime]]:
    return [
        (
            p["after_seq"],
            p["entries"],
            datetime.fromisoformat(p["first_at"]),
            datetime.fromisoformat(p["last_at"]),
        )
        for p in parts
    ]


def test_d15_api_access_report_says_where_each_bundle_part_begins(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    """D15: the parts are the bundles' own (as counted from their rows), numbered, recorded by one
    report entry and no bundle issued; asking the bundle for each part's ``after_seq`` gives every
    entry of the case — or of the subject's overview — once."""
    world = build_world(vault)
    mixed_busy_case(vault, world, clock)
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    url = f"/api/v1/audit/cases/{world.case_id}/access-report"
    viewed, issued = (
        _count(vault, AuditTag.AUDIT_ACCESS_REPORT_VIEWED),
        _count(vault, AuditTag.AUDIT_PROOF_ISSUED),
    )

    r = client.get(url, params={"bundle_parts": "true", "limit": 5}, headers=officer.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["accesses"]) == 5  # the report page itself as ever
    assert _count(vault, AuditTag.AUDIT_ACCESS_REPORT_VIEWED) == viewed + 1
    assert _count(vault, AuditTag.AUDIT_PROOF_ISSUED) == issued
    parts = body["bundle_parts"]
    assert set(parts) == {"access_report", "subject_overview"}
    with transaction(vault.db) as session:
        assert _as_tuples(parts["access_report"]) == reference_parts(session, world.case_id, full=True)
        assert _as_tuples(parts["subject_overview"]) == reference_parts(session, world.case_id, full=False)
        expected = {
            "access_report": audit_repo.case_entry_seqs(session, world.case_id),
            "subject_overview": [row["seq"] for row in subject_report(session, world.case_id).rows],
        }
    assert len(parts["access_report"]) == 3
    assert len(parts["subject_overview"]) == 2
    for kind, for_subject in (("access_report", "false"), ("subject_overview", "true")):
        assert [p["number"] for p in parts[kind]] == list(range(1, len(parts[kind]) + 1))
        assert sum(p["entries"] for p in parts[kind]) == len(expected[kind])
        bundles = []
        for part in parts[kind]:
            got = client.get(
                f"{url}/bundle",
                params={"after_seq": part["after_seq"], "for_subject": for_subject},
                headers=officer.headers,
            )
            assert got.status_code == 200, got.text[:300]
            bundles.append(bundle_seqs(got.content))
        assert_parts_chain([(p["after_seq"], p["entries"]) for p in parts[kind]], bundles, expected[kind])


def test_d15_api_access_report_without_the_option_has_no_parts(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    """D15: the report keeps its shape unless the parts are asked for (they take a pass over the case)."""
    world = build_world(vault)
    officer = api_user(client, vault, clock, Role.PRIVACY_OFFICER)
    r = client.get(f"/api/v1/audit/cases/{world.case_id}/access-report", headers=officer.headers)
    assert r.status_code == 200, r.text
    assert "bundle_parts" not in r.json()


def test_d16_only_the_privacy_officer_gets_the_bundle_parts_and_a_refusal_is_recorded(
    vault: Vault, clock: FrozenClock, client: TestClient
) -> None:
    """D15, D16: anyone else gets 403 without a part or a count, and the refusal is in the log."""
    world = build_world(vault)
    mixed_busy_case(vault, world, clock, reads=20)
    admin = api_user(client, vault, clock, Role.ADMIN)
    denied = _count(vault, AuditTag.AUDIT_ACCESS_DENIED)
    r = client.get(
        f"/api/v1/audit/cases/{world.case_id}/access-report",
        params={"bundle_parts": "true"},
        headers=admin.headers,
    )
    assert r.status_code == 403
    assert "bundle_parts" not in r.text
    assert "after_seq" not in r.text
    assert _count(vault, AuditTag.AUDIT_ACCESS_DENIED) == denied + 1
