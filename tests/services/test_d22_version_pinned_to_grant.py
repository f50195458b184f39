"""D22, D10, D8 (review finding R2): a partner reads, under a disclosure, the version of a document as it
stood when the disclosure was made — the newest version created at or before the grant — never one
added later (the unredacted original uploaded again was never looked at for this partner). A document
added to a shared category after the grant is covered as the category stands (D10): its newest version.
An extension keeps the pin; a new disclosure is how a new version is shared. The partner's inbox
describes the pinned version; an explicit ``?version=`` of any other is refused (rule
``d8-latest-version-only``). Staff read the newest version. SQLite and PostgreSQL (the conftest's
backend)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import api_user, ctx_for, make_org, make_team, make_user, new_case, upload
from tests.partner_api import TEAM, disclose, open_report, put_doc
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.errors import NotFound
from vault.models import AuditEntry
from vault.runtime import Vault
from vault.services.disclosure_changes import extend_disclosure
from vault.services.disclosures import DisclosureRequest, create_disclosure
from vault.services.documents import read_document, upload_document
from vault.services.gate import admit_read
from vault.services.partner_view import partner_inbox, retrieval_history
from vault.services.read_failures import note_read_failed
from vault.transaction import transaction

REVIEWED = b"Verslag huisbezoek. Melder: [weggelaten]."
LATER = b"Verslag huisbezoek. Melder: Kanarie Buurvrouw, Dorpsstraat 3."
# A kind a partner's copy cannot be cleaned of (``copy_kind``: refused for a partner).
TIFF = b"II*\x00\x08\x00\x00\x00" + b"Artist Kanarie Buurvrouw" + bytes(64)


def test_d10_d22_a_version_added_after_the_grant_is_not_served_to_the_partner(
    client: TestClient, vault: Vault, clock: FrozenClock
) -> None:
    worker = api_user(client, vault, clock, Role.MEDEWERKER, team=TEAM)
    partner = api_user(client, vault, clock, Role.PARTNER, org=("Lokaal team R2", OrgType.LOCAL_TEAM))
    case_id = open_report(vault, worker)
    doc = put_doc(client, worker, case_id, REVIEWED, Category.CORRESPONDENCE)
    status, grant = disclose(
        client,
        worker,
        case_id,
        org_id=partner.org_id,
        purpose="warme overdracht",
        legal_basis="wmo-4.1.1-2-help",
        document_ids=[doc],
        max_retrievals=5,
    )
    assert status == 201, grant
    first = client.get(f"/api/v1/documents/{doc}/content", headers=partner.headers)
    assert first.status_code == 200
    assert first.content == REVIEWED
    # Later, staff store the unredacted text as a new version of the same document (for themselves).
    clock.advance(minutes=1)
    put_doc(client, worker, case_id, LATER, Category.CORRESPONDENCE, document_id=doc)
    second = client.get(f"/api/v1/documents/{doc}/content", headers=partner.headers)
    assert second.status_code == 200, second.text
    assert second.content == REVIEWED  # the version shared, not the later one
    assert b"Kanarie" not in second.content
    # Staff read the newest version.
    own = client.get(f"/api/v1/documents/{doc}/content", headers=worker.headers)
    assert own.status_code == 200
    assert own.content == LATER


class Shared:
    """A worker's case with one document (version 1 at the start), shared with a local team."""

    def __init__(self, vault: Vault, clock: FrozenClock, *, by_category: bool = False) -> None:
        self.vault, self.clock = vault, clock
        team = make_team(vault)
        self.worker_id = make_user(vault, Role.MEDEWERKER, teams=[team])
        self.case_id = new_case(vault, self.worker(), team)
        self.doc = upload(vault, self.worker(), self.case_id, REVIEWED, category=Category.SAFETY_CONDITIONS)
        self.org = make_org(vault, OrgType.LOCAL_TEAM, "Lokaal team Pin")
        self.partner_id = make_user(vault, Role.PARTNER, org_id=self.org)
        self.grant_id = self.share(by_category=by_category)

    def worker(self) -> Context:
        """A context of now (the step-up a disclosure needs is recent)."""
        return ctx_for(self.vault, self.worker_id, Role.MEDEWERKER)

    def partner(self) -> Context:
        return ctx_for(self.vault, self.partner_id, Role.PARTNER, org_id=self.org)

    def share(self, *, by_category: bool = False, again: bool = False) -> str:
        """Disclose the document (or its category); ``again``: beside a live disclosure (confirmed)."""
        categories = frozenset({Category.SAFETY_CONDITIONS}) if by_category else frozenset()
        request = DisclosureRequest(
            contact_name="Marieke de Vries",  # D23
            contact_phone="030 123 45 67",
            case_id=self.case_id,
            org_id=self.org,
            purpose="warme overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=categories,
            document_ids=frozenset() if by_category else frozenset({self.doc}),
            max_retrievals=10,
            confirm_duplicate=again,
        )
        return create_disclosure(self.vault, self.worker(), request).id

    def new_version(self, data: bytes, document_id: str | None = None) -> str:
        """A day later, a new version of the document (or of ``document_id``)."""
        self.clock.advance(days=1)
        return upload_document(
            self.vault,
            self.worker(),
            case_id=self.case_id,
            category=Category.SAFETY_CONDITIONS,
            title="Gespreksverslag",
            filename="verslag.txt",
            content_type="text/plain",
            chunks=iter([data]),
            document_id=document_id or self.doc,
        ).document_id

    def read(
        self, ctx: Context, *, version: int | None = None, grant_id: str | None = None
    ) -> tuple[int, bytes]:
        opened = read_document(self.vault, ctx, self.doc, version=version, grant_id=grant_id)
        return opened.version, b"".join(opened.chunks)


@pytest.fixture
def shared(vault: Vault, clock: FrozenClock) -> Shared:
    return Shared(vault, clock)


def test_d22_the_partner_reads_the_version_shared_and_staff_the_newest(shared: Shared) -> None:
    shared.new_version(LATER)
    assert shared.read(shared.partner()) == (1, REVIEWED)
    assert shared.read(shared.worker()) == (2, LATER)


def test_d22_the_partners_copy_is_named_by_the_date_of_the_version_shared(shared: Shared) -> None:
    day_shared = shared.clock.now().date().isoformat()
    shared.new_version(LATER)
    opened = read_document(shared.vault, shared.partner(), shared.doc)
    assert opened.filename.endswith(f"_{day_shared}.txt"), opened.filename
    assert b"".join(opened.chunks) == REVIEWED


def test_d8_d22_an_explicit_later_version_is_refused_for_the_partner(shared: Shared, vault: Vault) -> None:
    shared.new_version(LATER)
    with pytest.raises(NotFound):
        shared.read(shared.partner(), version=2)
    with vault.db.session() as session:
        refused = session.scalars(
            select(AuditEntry).where(
                AuditEntry.tag == str(AuditTag.DOSSIER_ACCESS_DENIED),
                AuditEntry.rule == "d8-latest-version-only",
                AuditEntry.object_id == shared.doc,
            )
        ).all()
    assert len(refused) == 1
    assert shared.read(shared.partner(), version=1) == (1, REVIEWED)  # the pinned one, named


def test_d22_the_inbox_describes_the_version_shared(shared: Shared) -> None:
    """The inbox tells whether the version the partner will get is retrievable: a later version of a
    kind a partner's copy cannot be cleaned of does not make the shared one "Niet op te halen"."""
    shared.new_version(TIFF)
    [item] = partner_inbox(shared.vault, shared.partner())
    assert item.documents == ((shared.doc, str(Category.SAFETY_CONDITIONS), True),)
    assert shared.read(shared.partner()) == (1, REVIEWED)


def test_d16_d22_an_extension_keeps_the_version_shared(shared: Shared) -> None:
    shared.new_version(LATER)
    extend_disclosure(shared.vault, shared.worker(), shared.grant_id, days=60)
    assert shared.read(shared.partner()) == (1, REVIEWED)
    assert shared.read(shared.partner(), grant_id=shared.grant_id) == (1, REVIEWED)


def test_d22_a_new_disclosure_after_the_new_version_shares_it(shared: Shared) -> None:
    shared.new_version(LATER)
    newer = shared.share(again=True)
    assert shared.read(shared.partner(), grant_id=newer) == (2, LATER)
    assert shared.read(shared.partner(), version=2, grant_id=newer) == (2, LATER)
    # The first disclosure still gives the version it shared.
    assert shared.read(shared.partner(), grant_id=shared.grant_id) == (1, REVIEWED)


def test_d10_d22_a_category_disclosure_pins_the_versions_it_covered(vault: Vault, clock: FrozenClock) -> None:
    """A category disclosure pins each document it covered when made. A document added to the category
    later is covered as the category stands (D10), in its newest version: staff who add it share it
    and may redact it by a new version (D8) — the version served is then the redacted one."""
    shared = Shared(vault, clock, by_category=True)
    shared.new_version(LATER)
    assert shared.read(shared.partner()) == (1, REVIEWED)
    added = upload(vault, shared.worker(), shared.case_id, LATER, category=Category.SAFETY_CONDITIONS)
    shared.new_version(REVIEWED, document_id=added)  # redacted after adding it
    opened = read_document(vault, shared.partner(), added)
    assert (opened.version, b"".join(opened.chunks)) == (2, REVIEWED)
    [item] = partner_inbox(vault, shared.partner())
    assert {d for d, _, _ in item.documents} == {shared.doc, added}


def test_d10_d16_a_read_the_store_broke_off_is_not_listed_as_received(shared: Shared, vault: Vault) -> None:
    """A read whose body the store failed to give before a byte went out (its retrieval given back,
    ``dossier:document:read_failed`` with ``delivered`` = ``none``) is not in the partner's history; a
    read broken off after bytes went out (``partial``) is."""
    with transaction(vault.db) as session:
        broken = admit_read(session, vault, shared.partner(), shared.doc)
    assert note_read_failed(vault, shared.partner(), broken, delivered=False)
    assert retrieval_history(vault, shared.partner()) == []
    shared.clock.advance(seconds=5)
    with transaction(vault.db) as session:
        partial = admit_read(session, vault, shared.partner(), shared.doc)
    note_read_failed(vault, shared.partner(), partial, delivered=True)
    listed = retrieval_history(vault, shared.partner())
    assert [r.at for r in listed] == [shared.clock.now()]
    with vault.db.session() as session:
        failed = session.scalars(
            select(AuditEntry.details).where(AuditEntry.tag == str(AuditTag.DOSSIER_DOCUMENT_READ_FAILED))
        ).all()
    assert sorted(json.loads(d)["delivered"] for d in failed) == ["none", "partial"]


def test_d22_the_pin_is_of_the_grant_not_of_the_clock(shared: Shared) -> None:
    """The pin is the grant's creation, not the read's time: a version added a minute after the grant is
    as unshared as one added a month later."""
    shared.clock.advance(minutes=1)
    upload_document(
        shared.vault,
        shared.worker(),
        case_id=shared.case_id,
        category=Category.SAFETY_CONDITIONS,
        title="Gespreksverslag",
        filename="verslag.txt",
        content_type="text/plain",
        chunks=iter([LATER]),
        document_id=shared.doc,
    )
    shared.clock.advance(days=20)
    assert shared.read(shared.partner()) == (1, REVIEWED)
