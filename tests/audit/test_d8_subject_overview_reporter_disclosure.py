"""D8, D15: the data subject's overview (and the inzage copy and proof bundle built on it) never tells
the family that the reporter was named to a partner.

A disclosure that covers the reporter's identity is recorded with ``reporter_identity: true`` in its
creation entry; its later entries (extended, revoked) name the grant, and a partner's read under it
carries the grant's id. Each of them is left out of the subject's overview and counted as the
reporter's, like the ``dossier:reporter-identity:*`` entries; the privacy officer's own access report
keeps them all. An ordinary disclosure (no reporter's identity) and the reads under it stay in.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tests.web.world import World, _ctx, build_world
from vault.domain import AuditTag, Category
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services import disclosures
from vault.services.access_overview import subject_report
from vault.services.disclosure_changes import extend_disclosure, revoke_disclosure
from vault.services.disclosure_requests import DisclosureRequest
from vault.services.documents import read_document
from vault.services.proof_bundles import subject_overview_bundle
from vault.services.subjects import record_reporter_consent


def _release_to_partner(vault: Vault, world: World) -> str:
    """The reporter agreed to be named; a disclosure to the partner covers their identity."""
    ctx = _ctx(vault, world.worker)
    record_reporter_consent(vault, ctx, world.case_id)
    grant = disclosures.create_disclosure(
        vault,
        ctx,
        DisclosureRequest(
            contact_name="Marieke de Vries",
            contact_phone="030 123 45 67",
            case_id=world.case_id,
            org_id=world.org_id,
            purpose="melder als contactpersoon",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS, Category.REPORTER_IDENTITY}),
            include_reporter_identity=True,
            confirm_duplicate=True,
        ),
    )
    return grant.id


def _read_as_partner(vault: Vault, world: World, grant_id: str) -> None:
    opened = read_document(vault, _ctx(vault, world.partner), world.granted_doc, grant_id=grant_id)
    b"".join(opened.chunks)


def _about_grant(row: dict[str, Any], grant_id: str) -> bool:
    details = json.loads(row["details"] or "{}")
    return (row["object_type"] == "grant" and row["object_id"] == grant_id) or details.get(
        "grant_id"
    ) == grant_id


def _entries(vault: Vault, seqs: list[int]) -> list[dict[str, Any]]:
    with vault.db.session() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.seq.in_(seqs)))
        return [
            {"seq": e.seq, "object_type": e.object_type, "object_id": e.object_id, "details": e.details}
            for e in rows
        ]


def _names_reporter(row: dict[str, Any]) -> bool:
    return json.loads(row["details"] or "{}").get("reporter_identity") is True


def test_d8_subject_overview_shows_a_mixed_disclosure_like_any_other(vault: Vault) -> None:
    """D8 (session 15, N11): a disclosure that carried the reporter's identity beside other data is
    listed under "Verstrekt aan" (without that category), so the overview shows its lines like every
    other grant's — creation, extension, the read under it, revocation — and a listed recipient without
    lines cannot single it out. What it carried stays out: the reporter's own facts are left out, and
    the proof bundle keeps its entries out (their details say it; next test)."""
    world = build_world(vault)
    released = _release_to_partner(vault, world)
    worker = _ctx(vault, world.worker)
    extend_disclosure(vault, worker, released, days=60)
    _read_as_partner(vault, world, released)
    _read_as_partner(vault, world, world.grant_id)  # the ordinary disclosure of the world
    revoke_disclosure(vault, worker, released)

    with vault.db.session() as session:
        report = subject_report(session, world.case_id)
    mixed = {r["tag"] for r in report.rows if _about_grant(r, released)}
    ordinary = {r["tag"] for r in report.rows if _about_grant(r, world.grant_id)}
    assert {str(AuditTag.DISCLOSURE_GRANT_CREATED), str(AuditTag.DOSSIER_DOCUMENT_READ)} <= ordinary
    assert {
        str(AuditTag.DISCLOSURE_GRANT_CREATED),
        str(AuditTag.DISCLOSURE_GRANT_EXTENDED),
        str(AuditTag.DOSSIER_DOCUMENT_READ),
        str(AuditTag.DISCLOSURE_GRANT_REVOKED),
    } <= mixed
    assert not [r for r in report.rows if str(r["tag"]).startswith("dossier:reporter-identity:")]


def test_d8_subject_proof_bundle_carries_no_disclosure_naming_the_reporter(vault: Vault) -> None:
    """D8: the bundle handed to the data subject holds no entry that says the reporter was named."""
    world = build_world(vault)
    released = _release_to_partner(vault, world)
    _read_as_partner(vault, world, released)
    bundle = subject_overview_bundle(vault, _ctx(vault, world.officer), world.case_id)
    entries = [item["entry"] for item in bundle["entries"]]
    assert entries, "the bundle holds the entries the subject may see"
    assert [e["seq"] for e in entries if '"reporter_identity":true' in e["details"]] == []
    assert [e["seq"] for e in entries if released in (e["object_id"] or "") or released in e["details"]] == []
