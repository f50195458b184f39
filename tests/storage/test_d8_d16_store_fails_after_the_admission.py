"""D8, D16: a read whose admission committed but whose body the object store then failed to give.

The store is a real SeaweedFS of the test's own (tests/s3.py), killed (SIGKILL) after the admission
committed and its GetObject started answering: what was in the sockets arrives, then the body breaks
off. A partner's copy is read whole before a byte is sent: the read ends in 503, the FG sees the read
entry and one ``dossier:document:read_failed`` entry naming it (``admitted_seq``, ``delivered`` =
``none``), and the partner's one retrieval is given back in that entry's transaction — it can be used
again, once. A staff download that streams has sent bytes: the follow-up entry says ``partial`` and
no retrieval is involved. The rules of giving back (never below zero, only while the grant is neither
revoked nor expired, never after bytes went out) over the local store. SQLite and PostgreSQL (the
database is the conftest's backend).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import func, select

from tests.helpers import ctx_for, make_org, make_team, make_user, new_case, upload
from tests.robustness.support import cli
from tests.s3 import KillableSeaweedFS, killable_seaweedfs, s3_settings
from vault.config import Settings
from vault.context import Context, FrozenClock
from vault.domain import AuditTag, Category, OrgType, Role
from vault.errors import NotFound
from vault.http.downloads import admitted_response
from vault.http.errors import status_for
from vault.models import AuditEntry, DocumentVersion, Grant
from vault.runtime import Vault
from vault.services.disclosure_changes import revoke_disclosure
from vault.services.disclosures import DisclosureRequest, create_disclosure
from vault.services.gate import AdmittedRead, admit_read
from vault.services.read_failures import STORE_READ_FAILED, StoreReadFailed, note_read_failed
from vault.transaction import transaction

MiB = 1 << 20
# Far more than the socket buffers between the store and the vault: the body breaks off mid-way. At
# most the partner copy's cap (``watermark.MAX_COPY_BYTES``, 50 MiB).
BIG = 40 * MiB
_LINE = b"Afspraak met school en wijkteam over de veiligheid thuis; volgende stap volgt.\n"


def _text(size: int) -> bytes:
    """Plain text of ``size`` bytes (a partner gets plain text as it is: the copy is easy to compare)."""
    return (_LINE * (size // len(_LINE) + 1))[:size]


class Shared:
    def __init__(self, worker: Context, partner: Context, case_id: str, doc: str, grant_id: str) -> None:
        self.worker, self.partner, self.case_id, self.doc, self.grant_id = (
            worker,
            partner,
            case_id,
            doc,
            grant_id,
        )


def _shared(vault: Vault, data: bytes, *, max_retrievals: int = 1) -> Shared:
    """A case worker's document, shared with a local team for ``max_retrievals`` retrievals."""
    team = make_team(vault)
    worker = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    case_id = new_case(vault, worker, team)
    doc = upload(vault, worker, case_id, data, category=Category.SAFETY_CONDITIONS, chunk=MiB)
    org = make_org(vault, OrgType.LOCAL_TEAM, "Lokaal team Noord")
    partner = ctx_for(vault, make_user(vault, Role.PARTNER, org_id=org), Role.PARTNER, org_id=org)
    grant = create_disclosure(
        vault,
        worker,
        DisclosureRequest(
            contact_name="Marieke de Vries",  # D23
            contact_phone="030 123 45 67",
            case_id=case_id,
            org_id=org,
            purpose="warme overdracht",
            legal_basis="wmo-4.1.1-2-help",
            categories=frozenset({Category.SAFETY_CONDITIONS}),
            max_retrievals=max_retrievals,
        ),
    )
    return Shared(worker, partner, case_id, doc, grant.id)


def _admit(vault: Vault, ctx: Context, doc: str, grant_id: str | None = None) -> AdmittedRead:
    """The gate's read door, committed (as the download's group-commit job does)."""
    with transaction(vault.db) as session:
        return admit_read(session, vault, ctx, doc, grant_id=grant_id)


def _respond(vault: Vault, ctx: Context, admitted: AdmittedRead) -> Response:
    """What the API and the web download answer after the admission (``admitted_response``)."""

    async def run() -> Response:
        return await admitted_response(vault, ctx, admitted)

    return anyio.run(run)


def _body(response: Response) -> bytes:
    if not isinstance(response, StreamingResponse):
        return bytes(response.body)

    async def collect() -> bytes:
        return b"".join([bytes(c) async for c in response.body_iterator])  # type: ignore[misc]

    return anyio.run(collect)


def _used(vault: Vault, grant_id: str) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(Grant.retrievals_used).where(Grant.id == grant_id)) or 0)


def _grant_row(vault: Vault, grant_id: str) -> dict[str, Any]:
    with vault.db.session() as session:
        grant = session.get(Grant, grant_id)
        assert grant is not None
        return {c.name: getattr(grant, c.key) for c in Grant.__table__.columns}


def _entries(vault: Vault, doc: str) -> list[AuditEntry]:
    """What the privacy officer sees of this document: every entry naming it, in order."""
    with vault.db.session() as session:
        return list(
            session.scalars(select(AuditEntry).where(AuditEntry.object_id == doc).order_by(AuditEntry.seq))
        )


def _audit_count(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _versions(vault: Vault) -> int:
    with vault.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(DocumentVersion)) or 0)


def _verified(vault: Vault) -> None:
    verify = cli(vault, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


# --- over a real object store that dies mid-body --------------------------------------------------


class TestOverAKilledObjectStore:
    @pytest.fixture
    def object_store(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KillableSeaweedFS]:
        with killable_seaweedfs(tmp_path, monkeypatch) as own:
            yield own

    @pytest.fixture
    def settings(self, settings: Settings, object_store: KillableSeaweedFS) -> Settings:
        return s3_settings(settings, object_store.server)

    def test_d8_d16_the_partners_retrieval_is_given_back_when_the_store_fails_before_the_first_byte(
        self, vault: Vault, object_store: KillableSeaweedFS
    ) -> None:
        data = _text(BIG)
        shared = _shared(vault, data, max_retrievals=1)
        grant_before = _grant_row(vault, shared.grant_id)
        entries_before, versions_before = _audit_count(vault), _versions(vault)

        admitted = _admit(vault, shared.partner, shared.doc, shared.grant_id)  # committed: counted
        assert _used(vault, shared.grant_id) == 1
        object_store.kill()  # the GetObject is answering: the body breaks off mid-way
        with pytest.raises(StoreReadFailed) as failed:
            _respond(vault, shared.partner, admitted)
        object_store.start()

        assert status_for(failed.value) == 503
        assert failed.value.rule == STORE_READ_FAILED
        assert "nothing was sent and the retrieval was not counted" in failed.value.message
        assert _used(vault, shared.grant_id) == 0, "the retrieval is given back"
        assert _grant_row(vault, shared.grant_id) == {**grant_before, "retrievals_used": 0}
        assert _versions(vault) == versions_before
        assert _audit_count(vault) == entries_before + 2, "the read and its follow-up, nothing else"
        read, broken = _entries(vault, shared.doc)[-2:]
        assert (read.tag, read.decision, read.actor_id) == (
            str(AuditTag.DOSSIER_DOCUMENT_READ),
            "allow",
            shared.partner.actor_id,
        )
        assert broken.tag == str(AuditTag.DOSSIER_DOCUMENT_READ_FAILED)
        assert (broken.object_type, broken.case_id, broken.actor_id, broken.rule) == (
            "document",
            shared.case_id,
            shared.partner.actor_id,
            STORE_READ_FAILED,
        )
        details = json.loads(broken.details)
        assert details["admitted_seq"] == read.seq
        assert details["delivered"] == "none"
        assert details["grant_id"] == shared.grant_id
        assert details["version_id"] == json.loads(read.details)["version_id"]

        # The one retrieval can be used again, once: the whole copy arrives.
        again = _admit(vault, shared.partner, shared.doc, shared.grant_id)
        assert _body(_respond(vault, shared.partner, again)) == data
        assert _used(vault, shared.grant_id) == 1
        with pytest.raises(NotFound):
            _admit(vault, shared.partner, shared.doc, shared.grant_id)  # used up now
        _verified(vault)

    def test_d16_a_staff_download_broken_off_mid_stream_is_noted_as_partial(
        self, vault: Vault, object_store: KillableSeaweedFS
    ) -> None:
        data = _text(BIG)
        shared = _shared(vault, data)
        admitted = _admit(vault, shared.worker, shared.doc)
        response = _respond(vault, shared.worker, admitted)
        assert isinstance(response, StreamingResponse)
        received = bytearray()

        async def read_killing_the_store() -> None:
            body: AsyncIterator[Any] = response.body_iterator  # type: ignore[assignment]
            received.extend(await body.__anext__())  # sent: the response has started
            object_store.kill()
            async for batch in body:
                received.extend(batch)

        with pytest.raises(StoreReadFailed):
            anyio.run(read_killing_the_store)
        object_store.start()

        assert 0 < len(received) < len(data)
        assert bytes(received) == data[: len(received)], "only the document's own verified bytes"
        read, broken = _entries(vault, shared.doc)[-2:]
        assert read.tag == str(AuditTag.DOSSIER_DOCUMENT_READ)
        assert broken.tag == str(AuditTag.DOSSIER_DOCUMENT_READ_FAILED)
        details = json.loads(broken.details)
        assert (details["admitted_seq"], details["delivered"], details["grant_id"]) == (
            read.seq,
            "partial",
            None,
        )
        _verified(vault)


# --- the rules of giving back (local store: the failure itself is above) ---------------------------


def test_d8_a_retrieval_is_given_back_once_never_below_zero_and_never_after_bytes_went_out(
    vault: Vault,
) -> None:
    shared = _shared(vault, _text(4096), max_retrievals=3)
    admitted = _admit(vault, shared.partner, shared.doc, shared.grant_id)
    assert _used(vault, shared.grant_id) == 1
    assert note_read_failed(vault, shared.partner, admitted, delivered=True) is False
    assert _used(vault, shared.grant_id) == 1, "bytes went out: the retrieval stays used"
    assert note_read_failed(vault, shared.partner, admitted, delivered=False) is True
    assert _used(vault, shared.grant_id) == 0
    assert note_read_failed(vault, shared.partner, admitted, delivered=False) is False
    assert _used(vault, shared.grant_id) == 0, "never below zero"
    broken = [e for e in _entries(vault, shared.doc) if e.tag == str(AuditTag.DOSSIER_DOCUMENT_READ_FAILED)]
    assert [json.loads(e.details)["delivered"] for e in broken] == ["partial", "none", "none"]


def test_d8_a_revoked_grant_gets_no_retrieval_back(vault: Vault) -> None:
    shared = _shared(vault, _text(4096), max_retrievals=2)
    admitted = _admit(vault, shared.partner, shared.doc, shared.grant_id)
    revoke_disclosure(vault, shared.worker, shared.grant_id)
    assert note_read_failed(vault, shared.partner, admitted, delivered=False) is False
    assert _used(vault, shared.grant_id) == 1


def test_d8_an_expired_grant_gets_no_retrieval_back(vault: Vault, clock: FrozenClock) -> None:
    shared = _shared(vault, _text(4096), max_retrievals=2)
    admitted = _admit(vault, shared.partner, shared.doc, shared.grant_id)
    valid_until = _grant_row(vault, shared.grant_id)["valid_until"]
    clock.advance(seconds=(valid_until - clock.now() + timedelta(minutes=1)).total_seconds())
    assert note_read_failed(vault, shared.partner, admitted, delivered=False) is False
    assert _used(vault, shared.grant_id) == 1
