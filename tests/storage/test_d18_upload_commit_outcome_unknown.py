"""D18 ("nothing lost"; review S2): when the database is lost while an upload's version row commits,
the outcome is unknown (the server may have committed it). The upload then never deletes its blob:
the orphan sweep decides later, deleting it only when no row references it after the grace period.
The connection loss is simulated at COMMIT (the driver's ``OperationalError``); everything else is real."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.helpers import ctx_for, make_team, make_user, new_case, upload
from vault.context import Context
from vault.domain import Role
from vault.errors import Unavailable
from vault.models import DocumentVersion
from vault.runtime import Vault
from vault.services.blobs import sweep_orphans


@contextmanager
def _connection_lost_at_the_versions_commit(*, applied: bool) -> Iterator[None]:
    """The COMMIT that adds a version row raises the driver's connection error, after the server
    applied it (``applied``) or without it."""
    real_commit = Session.commit

    def commit(self: Session) -> None:
        adds_version = self.info.pop("adds_version", False)
        if adds_version and not applied:
            self.rollback()
        else:
            real_commit(self)
        if adds_version:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    def note_version(session: Session, *_: object) -> None:
        if any(isinstance(o, DocumentVersion) for o in session.new):
            session.info["adds_version"] = True

    event.listen(Session, "before_flush", note_version)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Session, "commit", commit)
        try:
            yield
        finally:
            event.remove(Session, "before_flush", note_version)


def _worker_case(vault: Vault) -> tuple[Context, str]:
    team = make_team(vault)
    ctx = ctx_for(vault, make_user(vault, Role.MEDEWERKER, teams=[team]), Role.MEDEWERKER)
    return ctx, new_case(vault, ctx, team)


def _blobs_of_rows(vault: Vault) -> list[str]:
    with vault.db.session() as session:
        return list(session.scalars(select(DocumentVersion.blob_id)))


def test_d18_an_upload_whose_commit_outcome_is_unknown_never_deletes_a_referenced_blob(vault: Vault) -> None:
    ctx, case_id = _worker_case(vault)
    with _connection_lost_at_the_versions_commit(applied=True), pytest.raises(Unavailable):
        upload(vault, ctx, case_id, b"Verslag huisbezoek 12 maart")
    committed = _blobs_of_rows(vault)
    assert len(committed) == 1, "precondition: the version row did commit"
    assert vault.blobs.exists(committed[0]), "the upload deleted the blob of a committed version"
    # The sweep keeps it, whatever its age: a row references it.
    assert sweep_orphans(vault, grace_seconds=3600, now=time.time() + 7200) == 0
    assert vault.blobs.exists(committed[0])


def test_d18_the_blob_of_an_upload_whose_commit_did_not_happen_is_deleted(vault: Vault) -> None:
    """The database answers again and no row references the blob: nothing committed, it goes."""
    ctx, case_id = _worker_case(vault)
    with _connection_lost_at_the_versions_commit(applied=False), pytest.raises(Unavailable):
        upload(vault, ctx, case_id, b"Verslag huisbezoek 14 maart")
    assert _blobs_of_rows(vault) == []
    assert list(vault.blobs.list_blobs()) == []


def test_d18_an_orphan_the_upload_could_not_check_is_removed_by_the_sweep_after_the_grace_period(
    vault: Vault,
) -> None:
    """When even the check cannot be made, the blob stays; the sweep removes it once no row references it."""
    from vault.services.blobs import discard_sealed_blob
    from vault.services.documents import seal_to_blob
    from vault.services.keyring import unwrap_case_key

    _, case_id = _worker_case(vault)
    with vault.db.session() as session:
        dek = unwrap_case_key(session, vault.keys, case_id)
    blob_id = seal_to_blob(vault, dek, [b"Verslag"]).blob_id
    discard_sealed_blob(vault, blob_id, KeyboardInterrupt())  # an interruption: outcome unknown
    assert vault.blobs.exists(blob_id)
    assert sweep_orphans(vault, grace_seconds=3600) == 0  # within the grace period: an upload in flight
    assert sweep_orphans(vault, grace_seconds=3600, now=time.time() + 7200) == 1
    assert not vault.blobs.exists(blob_id)
