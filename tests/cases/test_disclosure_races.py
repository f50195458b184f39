"""Disclosures under concurrency (D9/D10/D23 disclosures, D16 audit completeness): the same disclosure sent
at once from several sessions is created once; a revoked disclosure is never extended afterwards; a grant
is revoked, and audited as revoked, once.

Real threads, each with its own session (its own connection from the pool), released together by a
barrier; bounded in count and time. The races only show on PostgreSQL (READ COMMITTED, two workers); on
SQLite every transaction is BEGIN IMMEDIATE, and the same assertions hold there too.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

import pytest
from sqlalchemy import select

from tests.cases.conftest import Staff
from tests.helpers import make_org, new_case
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType
from vault.errors import Conflict, InvalidInput, VaultError
from vault.models import AuditEntry, Grant
from vault.runtime import Vault
from vault.services.disclosures import (
    DisclosureRequest,
    DuplicateDisclosure,
    GrantView,
    create_disclosure,
    extend_disclosure,
    revoke_disclosure,
)

T = TypeVar("T")

THREADS = 8
TIMEOUT = 60  # seconds: a hang fails the test instead of blocking the suite


def _at_once(calls: list[Callable[[], T]]) -> list[T | VaultError]:
    """Run every call in its own thread, released together; each call's result or refusal, in order
    (anything else, such as a deadlock, is raised here and fails the test)."""
    barrier = threading.Barrier(len(calls), timeout=TIMEOUT)

    def run(call: Callable[[], T]) -> T | VaultError:
        barrier.wait()
        try:
            return call()
        except VaultError as exc:  # the caller checks which refusals are expected
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=TIMEOUT) for future in futures]


@pytest.fixture
def actors(vault: Vault, staff: Staff) -> list[Context]:
    """Four members of the case's team, as four colleagues (or double clicks) would send it."""
    return [staff.ctx(vault, who) for who in (staff.worker, staff.worker2, staff.leader, staff.doctor)]


@pytest.fixture
def case_id(vault: Vault, staff: Staff) -> str:
    return new_case(vault, staff.ctx(vault, staff.worker), staff.team)


@pytest.fixture
def org(vault: Vault) -> str:
    return make_org(vault, OrgType.LOCAL_TEAM, "Lokaal team Oost")


def _request(case_id: str, org_id: str, category: Category) -> DisclosureRequest:
    return DisclosureRequest(
        case_id=case_id,
        org_id=org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        categories=frozenset({category}),
        valid_days=10,
        max_retrievals=3,
        contact_name="Marieke de Vries",
        contact_phone="030 123 45 67",
    )


def _entries(vault: Vault, tag: AuditTag, **where: str) -> list[AuditEntry]:
    with vault.db.session() as session:
        query = select(AuditEntry).where(AuditEntry.tag == str(tag)).order_by(AuditEntry.seq)
        for column, value in where.items():
            query = query.where(getattr(AuditEntry, column) == value)
        return list(session.scalars(query))


def _unexpected(results: Sequence[object], *expected: type[VaultError]) -> list[object]:
    return [r for r in results if isinstance(r, VaultError) and not isinstance(r, expected)]


@pytest.mark.parametrize("category", [Category.CORRESPONDENCE, Category.REPORT, Category.SAFETY_CONDITIONS])
def test_d9_d10_the_same_disclosure_sent_eight_times_at_once_is_created_once_and_audited_once_d16(
    vault: Vault, actors: list[Context], case_id: str, org: str, category: Category
) -> None:
    req = _request(case_id, org, category)
    results = _at_once(
        [lambda ctx=actors[i % len(actors)]: create_disclosure(vault, ctx, req) for i in range(THREADS)]
    )

    assert _unexpected(results, DuplicateDisclosure) == []
    created = [r for r in results if isinstance(r, GrantView)]
    held_back = [r for r in results if isinstance(r, DuplicateDisclosure)]
    assert len(created) == 1, "one disclosure, one retrieval allowance: the others are duplicates"
    assert len(held_back) == THREADS - 1
    assert {d.existing.id for d in held_back} == {created[0].id}  # each names the one that was created
    with vault.db.session() as session:
        grants = session.scalars(select(Grant.id).where(Grant.case_id == case_id, Grant.org_id == org)).all()
    assert grants == [created[0].id]
    assert [e.object_id for e in _entries(vault, AuditTag.DISCLOSURE_GRANT_CREATED, case_id=case_id)] == [
        created[0].id
    ]
    warned = _entries(vault, AuditTag.DISCLOSURE_GRANT_DUPLICATE_WARNED, case_id=case_id)
    assert [e.object_id for e in warned] == [created[0].id] * (THREADS - 1)

    # Confirmed on purpose, a second one is still possible (and said so in its entry).
    again = create_disclosure(vault, actors[0], replace(req, confirm_duplicate=True))
    assert again.id != created[0].id


ROUNDS = 5


def test_d9_a_revoked_disclosure_is_never_extended_when_revoke_and_extend_race_d16(
    vault: Vault, actors: list[Context], case_id: str, org: str
) -> None:
    for round_ in range(ROUNDS):
        category = [Category.CORRESPONDENCE, Category.REPORT, Category.SAFETY_CONDITIONS][round_ % 3]
        grant = create_disclosure(
            vault, actors[0], replace(_request(case_id, org, category), confirm_duplicate=True)
        )
        # Two revocations and six extensions of the same grant at once, by four colleagues.
        calls: list[Callable[[], GrantView]] = [
            lambda i=i, grant_id=grant.id: (
                revoke_disclosure(vault, actors[i % len(actors)], grant_id)
                if i in (0, 4)
                else extend_disclosure(vault, actors[i % len(actors)], grant_id, days=20 + i)
            )
            for i in range(THREADS)
        ]
        results = _at_once(calls)

        assert _unexpected(results, Conflict, InvalidInput) == []
        # D16: an extension that commits after a longer one would end earlier: refused, never shortening
        assert all(r.rule == "d16-extension-not-later" for r in results if isinstance(r, InvalidInput))
        assert all(not isinstance(results[i], VaultError) for i in (0, 4)), "revoking never conflicts"
        refused = [r for r in results if isinstance(r, Conflict)]
        assert all("revoked disclosure cannot be extended" in str(r) for r in refused)
        extended = [r for i, r in enumerate(results) if i not in (0, 4) and isinstance(r, GrantView)]
        # An extension that was answered "live" happened before the revocation: its entry comes first.
        assert all(not view.revoked for view in extended)
        seqs = {
            tag: [e.seq for e in _entries(vault, tag, object_id=grant.id)]
            for tag in (AuditTag.DISCLOSURE_GRANT_EXTENDED, AuditTag.DISCLOSURE_GRANT_REVOKED)
        }
        assert len(seqs[AuditTag.DISCLOSURE_GRANT_REVOKED]) == 1, f"round {round_}: revoked once: {seqs}"
        revoked_at_seq = seqs[AuditTag.DISCLOSURE_GRANT_REVOKED][0]
        assert all(seq < revoked_at_seq for seq in seqs[AuditTag.DISCLOSURE_GRANT_EXTENDED]), (
            f"round {round_}: a revoked disclosure was extended afterwards: {seqs}"
        )
        assert len(seqs[AuditTag.DISCLOSURE_GRANT_EXTENDED]) == len(extended)
        with vault.db.session() as session:
            row = session.get(Grant, grant.id)
            assert row is not None
            assert row.revoked_at is not None
            # What the database holds is the last extension answered, or the original end.
            ends = [grant.valid_until] + [view.valid_until for view in extended]
            assert row.valid_until in ends


def test_d16_eight_revocations_of_one_grant_at_once_revoke_it_once_with_one_audit_entry(
    vault: Vault, actors: list[Context], case_id: str, org: str
) -> None:
    for category in (Category.CORRESPONDENCE, Category.REPORT, Category.SAFETY_CONDITIONS):
        grant = create_disclosure(vault, actors[0], _request(case_id, org, category))
        results = _at_once(
            [
                lambda ctx=actors[i % len(actors)], grant_id=grant.id: revoke_disclosure(vault, ctx, grant_id)
                for i in range(THREADS)
            ]
        )

        assert _unexpected(results) == []
        views = [r for r in results if isinstance(r, GrantView)]
        assert len(views) == THREADS
        assert all(view.revoked for view in views)  # the same answer for all
        revoked = _entries(vault, AuditTag.DISCLOSURE_GRANT_REVOKED, object_id=grant.id)
        assert len(revoked) == 1, f"one revocation, audited {len(revoked)} times"
        assert Counter(view.valid_until for view in views) == Counter({grant.valid_until: THREADS})


def _revoked_at(vault: Vault, grant_id: str) -> datetime | None:
    with vault.db.session() as session:
        return session.scalar(select(Grant.revoked_at).where(Grant.id == grant_id))


def test_d16_revoking_a_revoked_disclosure_changes_nothing_and_is_not_audited_again(
    vault: Vault, clock: FrozenClock, actors: list[Context], case_id: str, org: str
) -> None:
    grant = create_disclosure(vault, actors[0], _request(case_id, org, Category.CORRESPONDENCE))
    first = revoke_disclosure(vault, actors[0], grant.id)
    revoked_at = _revoked_at(vault, grant.id)
    clock.advance(minutes=5)
    second = revoke_disclosure(vault, actors[1], grant.id)

    assert first == second
    assert second.revoked
    assert revoked_at is not None
    assert _revoked_at(vault, grant.id) == revoked_at
    assert len(_entries(vault, AuditTag.DISCLOSURE_GRANT_REVOKED, object_id=grant.id)) == 1
    with pytest.raises(Conflict, match="revoked disclosure cannot be extended"):
        extend_disclosure(vault, actors[1], grant.id, days=3)
    assert _entries(vault, AuditTag.DISCLOSURE_GRANT_EXTENDED, object_id=grant.id) == []
