"""The server's periodic checkpoints: sign one on start and every few minutes, then ask the witnesses.

Above both ``checkpoints`` (signing) and ``vault.witness.client`` (cosigning), which is why it is a
module of its own: the checkpoint code never imports the witness client.
"""

from __future__ import annotations

import structlog

from vault.audit.checkpoints import CheckpointInfo, create_checkpoint
from vault.errors import InvalidInput
from vault.periodic import Periodic
from vault.runtime import Vault
from vault.witness.client import publish_checkpoint

__all__ = ["PeriodicCheckpointer"]

log = structlog.get_logger(__name__)


class PeriodicCheckpointer(Periodic):
    """A daemon thread that signs a checkpoint on start (optional) and every ``minutes`` minutes.

    Failures are logged and retried next period; a broken log is logged as an error, never signed.
    """

    thread_name = "audit-checkpointer"

    def __init__(self, vault: Vault, *, minutes: float, on_start: bool = True) -> None:
        super().__init__(minutes=minutes, on_start=on_start)
        self._vault = vault

    def run_once(self) -> CheckpointInfo | None:
        try:
            info = create_checkpoint(self._vault)
        except InvalidInput:
            return None  # empty log
        except Exception as exc:  # noqa: BLE001 - a background task must survive and say why
            log.error("audit_checkpoint_failed", error=type(exc).__name__)
            return None
        try:
            publish_checkpoint(self._vault, info)
        except Exception as exc:  # noqa: BLE001 - an unreachable witness shows on the integrity page
            log.error("audit_cosign_failed", error=type(exc).__name__)
        return info
