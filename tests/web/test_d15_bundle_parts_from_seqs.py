"""D15: the access report page lists where each part of the proof bundles begins without reading the
case's log in full for the full bundle: its parts come from the case's sequence numbers only
(``audit.queries.case_entry_seqs``) and the times of each part's first and last entry. The parts must
be exactly those the bundles are cut into — the same as counted from the full report rows before —
and asking for every part gives every entry of the one-shot bundle once (D8, D13: the subject's
parts, of what their overview shows, begin elsewhere and say nothing of what is left out).
"""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from tests.web.busy_case import (
    assert_parts_chain,
    bundle_seqs,
    mixed_busy_case,
    officer_client,
    reference_parts,
)
from tests.web.world import _ctx, build_world
from vault.audit import queries as audit_repo
from vault.context import FrozenClock
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import proof_bundles
from vault.services.access_overview import subject_report
from vault.transaction import transaction

_NA = re.compile(r'href="/fg/toegang/[^"]+/bewijs(\?volledig=ja)?(?:(?:&amp;|\?)na=(\d+))?" download>')


def test_d15_bundle_parts_from_sequence_numbers_equal_the_parts_of_the_full_rows(
    vault: Vault, clock: FrozenClock
) -> None:
    """D15: for a case of more than 1000 entries, the full bundle's parts (from sequence numbers) and
    the subject's are exactly what counting the bundles' own rows gives: the same ``after_seq``,
    count, first and last time, part for part."""
    world = build_world(vault)
    mixed_busy_case(vault, world, clock)
    officer = _ctx(vault, world.officer)
    with transaction(vault.db) as session:
        entries = int(session.scalar(select(func.count()).where(AuditEntry.case_id == world.case_id)) or 0)
        for full in (True, False):
            parts = proof_bundles.bundle_parts(session, vault, officer, world.case_id, full=full)
            got = [(p.after_seq, p.entries, p.first_at, p.last_at) for p in parts]
            assert got == reference_parts(session, world.case_id, full=full), full
            assert [p.number for p in parts] == list(range(1, len(parts) + 1))
        full_parts = proof_bundles.bundle_parts(session, vault, officer, world.case_id, full=True)
        subject_parts = proof_bundles.bundle_parts(session, vault, officer, world.case_id, full=False)
    assert entries > 1000
    assert len(full_parts) == 3
    assert sum(p.entries for p in full_parts) == entries
    assert len(subject_parts) == 2, "the overview leaves out what the mixed case holds for others"
    assert [p.after_seq for p in subject_parts] != [p.after_seq for p in full_parts][:2]


def test_d15_every_part_chains_and_holds_the_one_shot_bundles_entries_once(
    vault: Vault, clock: FrozenClock
) -> None:
    """D15: fetching every part (``after_seq`` of each) of both bundles: each begins where the one
    before ended, holds the part's count, and together they hold exactly the entries of the one-shot
    selection — every entry of the case, or every entry of the subject's overview."""
    world = build_world(vault)
    mixed_busy_case(vault, world, clock)
    officer = _ctx(vault, world.officer)
    for full in (True, False):
        with transaction(vault.db) as session:
            parts = proof_bundles.bundle_parts(session, vault, officer, world.case_id, full=full)
            expected = (
                audit_repo.case_entry_seqs(session, world.case_id)
                if full
                else [row["seq"] for row in subject_report(session, world.case_id).rows]
            )
        make = proof_bundles.access_report_bundle if full else proof_bundles.subject_overview_bundle
        bundles = [bundle_seqs(make(vault, officer, world.case_id, after_seq=p.after_seq)) for p in parts]
        assert_parts_chain([(p.after_seq, p.entries) for p in parts], bundles, expected)


def test_d15_report_page_links_the_parts_the_bundles_are_cut_into(vault: Vault, clock: FrozenClock) -> None:
    """D15: the page's part links (``na``) are the bundles' own part starts, for both bundles, and
    downloading each link gives the part that begins there."""
    world = build_world(vault)
    mixed_busy_case(vault, world, clock)
    web = officer_client(vault, world, clock)
    page = web.get(f"/fg/toegang/{world.case_id}")
    assert page.status_code == 200
    links: dict[str, list[int]] = {"": [], "?volledig=ja": []}
    for full, na in _NA.findall(page.text):
        links[html.unescape(full)].append(int(na or 0))
    with transaction(vault.db) as session:
        officer = _ctx(vault, world.officer)
        for query, full in (("", False), ("?volledig=ja", True)):
            parts = proof_bundles.bundle_parts(session, vault, officer, world.case_id, full=full)
            assert links[query] == [p.after_seq for p in parts], query
    for query, starts in links.items():
        for after in starts[1:]:
            sep = "&" if query else "?"
            r = web.get(f"/fg/toegang/{world.case_id}/bewijs{query}{sep}na={after}")
            assert r.status_code == 200, (query, after)
            assert min(bundle_seqs(r.content)) > after
