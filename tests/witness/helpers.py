"""Helpers for the witness tests: audit entries, checkpoints and raw add-checkpoint requests."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request

from vault.audit import record
from vault.audit.checkpoints import CheckpointInfo, create_checkpoint
from vault.context import Context
from vault.domain import AuditTag
from vault.runtime import Vault


def append(vault: Vault, n: int, case_id: str = "case-1") -> None:
    ctx = Context(actor_id="worker-1", role="medewerker", access_point="test", clock=vault.clock)
    with vault.db.session() as session:
        for i in range(n):
            record(session, ctx, AuditTag.DOSSIER_DOCUMENT_READ, case_id=case_id, object_id=f"doc-{i}")


def checkpoint_after(vault: Vault, n: int) -> CheckpointInfo:
    append(vault, n)
    return create_checkpoint(vault)


def request_body(old: int, proof: list[bytes], note: str) -> bytes:
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{note}".encode()


def post(url: str, body: bytes) -> tuple[int, str, str]:
    """(status, content type, body) of POST ``url``/add-checkpoint."""
    request = urllib.request.Request(url + "/add-checkpoint", data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310 - loopback
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()
