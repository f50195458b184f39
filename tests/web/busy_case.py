"""D15: a busy case for the privacy officer's access report and proof bundle tests — more entries
than one report page or one bundle holds (``vault.audit.bundle.MAX_BUNDLE_ENTRIES``) — and the
officer's signed-in web client. Shared by tests/web/test_d15_*.py."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.web.world import World, _ctx, web_login
from vault.app import create_app
from vault.audit import queries as audit_repo
from vault.audit import record
from vault.audit.bundle import MAX_BUNDLE_ENTRIES
from vault.context import FrozenClock
from vault.domain import AuditTag, Decision
from vault.runtime import Vault
from vault.services.access_overview import subject_report

__all__ = [
    "READS",
    "assert_parts_chain",
    "busy_case",
    "mixed_busy_case",
    "officer_client",
    "reference_parts",
]

READS = 520  # more than the 500 the report gives at most in one go (``audit_reports.MAX_PAGE``)


def busy_case(vault: Vault, world: World, reads: int = READS) -> None:
    """Many reads by the case's own worker, then one emergency read by a colleague of another team."""
    worker = _ctx(vault, world.worker)
    with vault.db.session() as session:
        for _ in range(reads):
            record(
                session,
                worker,
                AuditTag.DOSSIER_CASE_READ,
                case_id=world.case_id,
                object_type="case",
                object_id=world.case_id,
            )
    with vault.db.session() as session:
        record(
            session,
            _ctx(vault, world.outsider),
            AuditTag.DOSSIER_CASE_READ,
            case_id=world.case_id,
            object_type="case",
            object_id=world.case_id,
            break_glass=True,
        )


def officer_client(vault: Vault, world: World, clock: FrozenClock) -> TestClient:
    """A web client signed in (with the second factor) as the world's privacy officer."""
    web = TestClient(create_app(vault), base_url="https://testserver")
    web_login(web, world.officer, clock)
    return web


def mixed_busy_case(vault: Vault, world: World, clock: FrozenClock, reads: int = 1100) -> None:
    """D8, D13, D15: a case of more than two bundles whose subject overview leaves entries out all
    along (every 7th a refused read, every 11th a read of the reporter's identity, every 13th a
    destruction request made for no one), so that the subject's parts begin elsewhere than the
    full report's; ends with ``busy_case``'s emergency read. A second passes between entries, so that
    every part has its own first and last time."""
    worker = _ctx(vault, world.worker)
    case = {"case_id": world.case_id, "object_type": "case", "object_id": world.case_id}
    with vault.db.session() as session:
        for i in range(1, reads + 1):
            clock.advance(seconds=1)
            if i % 7 == 0:
                record(
                    session,
                    _ctx(vault, world.outsider),
                    AuditTag.DOSSIER_CASE_READ,
                    decision=Decision.DENY,
                    **case,
                )
            elif i % 11 == 0:
                record(session, worker, AuditTag.DOSSIER_REPORTER_IDENTITY_READ, **case)
            elif i % 13 == 0:
                record(
                    session,
                    worker,
                    AuditTag.RIGHTS_DESTRUCTION_REQUESTED,
                    case_id=world.case_id,
                    object_type="destruction_request",
                    object_id=f"dr-{i}",
                )
            else:
                record(session, worker, AuditTag.DOSSIER_CASE_READ, **case)
    busy_case(vault, world, reads=0)


Part = tuple[int, int, datetime, datetime]  # after_seq, entries, first_at, last_at


def reference_parts(session: Session, case_id: str, *, full: bool) -> list[Part]:
    """The parts as ``proof_bundles.bundle_parts`` counted them before it read sequence numbers only:
    the full report's rows paged as ``access_report_bundle`` asks for them, or the subject overview's
    rows cut as ``subject_overview_bundle`` takes them."""
    pages: list[list[dict[str, Any]]] = []
    if full:
        after = 0
        while rows := audit_repo.access_report_rows(
            session, case_id, after_seq=after, limit=MAX_BUNDLE_ENTRIES
        ):
            pages.append(rows)
            if len(rows) < MAX_BUNDLE_ENTRIES:
                break
            after = rows[-1]["seq"]
    else:
        rows = subject_report(session, case_id).rows
        pages = [rows[i : i + MAX_BUNDLE_ENTRIES] for i in range(0, len(rows), MAX_BUNDLE_ENTRIES)]
    parts: list[Part] = []
    after = 0
    for page in pages:
        parts.append((after, len(page), page[0]["occurred_at"], page[-1]["occurred_at"]))
        after = page[-1]["seq"]
    return parts


def bundle_seqs(raw: bytes | dict[str, Any]) -> list[int]:
    """The entries a downloaded bundle holds, in its order."""
    bundle = json.loads(raw) if isinstance(raw, bytes) else raw
    return [item["entry"]["seq"] for item in bundle["entries"]]


def assert_parts_chain(parts: list[tuple[int, int]], bundles: list[list[int]], expected: list[int]) -> None:
    """D15: each part's bundle (``after_seq``, ``entries``) begins right after the part before ends and
    holds the part's count; together, in order, they hold exactly ``expected`` — the one-shot bundle's
    entries, taken before the parts were asked for (asking issues a bundle, an entry of the case that
    only the last part can hold: left out of the comparison) — none twice, none skipped."""
    assert len(parts) == len(bundles)
    newest = expected[-1]
    for i, ((after, entries), seqs) in enumerate(zip(parts, bundles, strict=True)):
        assert seqs, f"part {i + 1} is empty"
        assert seqs == sorted(seqs), f"part {i + 1} is not oldest first"
        assert seqs[0] > after, f"part {i + 1} starts before its after_seq"
        if i + 1 < len(parts):
            assert len(seqs) == entries == MAX_BUNDLE_ENTRIES, f"part {i + 1} holds another count"
            assert seqs[-1] == parts[i + 1][0], f"part {i + 2} does not begin where part {i + 1} ends"
        else:
            assert len([seq for seq in seqs if seq <= newest]) == entries
    held = [seq for seqs in bundles for seq in seqs if seq <= newest]
    assert held == expected, "the parts together hold every entry of the one-shot bundle exactly once"
